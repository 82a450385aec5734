export { ActionRegistry, type ActionHandler, type HandlerContext } from './action-registry.js';
export { type AgentOutcome, type Confirmation, describeOutcome } from './agent-outcome.js';
export { AgentService, type AgentReply, type AgentServiceOptions } from './agent-service.js';
export { Interpreter, type Interpretation, type NluMode, type ParseOutput, toParseOutput } from './interpret-text.js';
export { fromOrderOutcome, refused, registerOrderHandlers } from './order-action-handlers.js';
export { registerWalletHandlers } from './wallet-action-handlers.js';
