import { currentTrace, runInTrace } from '../adapters/tracing/trace-context.js';
import type { CommittedChanges } from '../interfaces/http/plumbing/outcome-metrics.js';
import type { AuditEntry, PaymentRecord } from '../ports/records.js';
import type { Repositories, UnitOfWork, UnitOfWorkMeter } from '../ports/repositories.js';

/**
 * The unit of work, telling `committed` what each transaction wrote once it has committed: the
 * audit rows (one per state move) and the gateway of each payment written. An attempt the
 * database runs again starts a fresh record; a transaction that rolls back reports nothing.
 *
 * The work runs in the caller's trace: SQLite runs the queued transactions of many requests in
 * one batch, from whichever request started it, so without this a job enqueued (or a line
 * logged) inside another request's transaction would name that request's trace.
 */
export function observeCommits(uow: UnitOfWork, committed: (changes: CommittedChanges) => void): UnitOfWork {
  return {
    read: uow.read,
    // A claim writes no audit rows and moves no money: nothing to report.
    claimDue: (...args) => uow.claimDue(...args),
    async run<T>(work: (repos: Repositories) => Promise<T>, meter?: UnitOfWorkMeter): Promise<T> {
      const trace = currentTrace();
      let audits: AuditEntry[] = [];
      let paymentGateways = new Map<string, string>();
      const value = await uow.run((repos) => {
        audits = [];
        paymentGateways = new Map();
        const seen = (p: PaymentRecord): void => {
          paymentGateways.set(p.id, p.gateway);
        };
        const audit: Repositories['audit'] = Object.assign(Object.create(repos.audit) as Repositories['audit'], {
          append: (e: AuditEntry) => {
            audits.push(e);
            return repos.audit.append(e);
          },
          appendMany: (entries: readonly AuditEntry[]) => {
            audits.push(...entries);
            return repos.audit.appendMany(entries);
          },
        });
        const payments: Repositories['payments'] = Object.assign(
          Object.create(repos.payments) as Repositories['payments'],
          {
            insert: (p: PaymentRecord) => {
              seen(p);
              return repos.payments.insert(p);
            },
            update: (p: PaymentRecord, expectedVersion: number) => {
              seen(p);
              return repos.payments.update(p, expectedVersion);
            },
          },
        );
        const observed = { ...repos, audit, payments };
        return trace === undefined ? work(observed) : runInTrace(trace, () => work(observed));
      }, meter);
      if (audits.length > 0) committed({ audits, paymentGateways });
      return value;
    },
  };
}
