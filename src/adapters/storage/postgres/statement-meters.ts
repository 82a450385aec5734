import { AsyncLocalStorage } from 'node:async_hooks';
import type { UnitOfWorkMeter } from '../../../ports/repositories.js';

/**
 * Which unit of work a statement is sent for. The driver counts each statement it sends (`sent`,
 * from the caller's async flow, before it awaits the server) into the meter of the unit of work
 * that flow runs, if it was asked for one: several units of work share the pool at once, so a
 * process-wide counter cannot tell them apart.
 */
export class StatementMeters {
  private readonly current = new AsyncLocalStorage<UnitOfWorkMeter>();

  /** One statement sent by the current flow. */
  sent(): void {
    const meter = this.current.getStore();
    if (meter !== undefined) meter.statements++;
  }

  /** Run `fn`, counting the statements its flow sends into `meter`. */
  run<T>(meter: UnitOfWorkMeter, fn: () => Promise<T>): Promise<T> {
    return this.current.run(meter, fn);
  }
}
