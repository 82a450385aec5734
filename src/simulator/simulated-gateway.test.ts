import { gatewayContract } from '../../test/contracts/payment-gateway-contract.js';
import { SimulatedGateway } from './simulated-gateway.js';

// The in-process simulator charging at once (the embedded default) and waiting for the payer (QR).
gatewayContract('in-process simulator, wallet', () => {
  const bank = new SimulatedGateway();
  return Promise.resolve({
    gateway: bank,
    bank,
    method: 'wallet',
    notificationFor: (e) => bank.notificationFor(e, Math.floor(Date.now() / 1000)),
    close: () => Promise.resolve(),
  });
});

gatewayContract('in-process simulator, QR code paid by the simulated payer', () => {
  const bank = new SimulatedGateway({ payerActionMethods: ['alipay_qr'] });
  return Promise.resolve({
    gateway: bank,
    bank,
    method: 'alipay_qr',
    notificationFor: (e) => bank.notificationFor(e, Math.floor(Date.now() / 1000)),
    close: () => Promise.resolve(),
  });
});
