import type { Category, ProposedRepair, ReconciliationReport, RepairAction } from '../domain/statements/reconcile.js';
import type { StatementFormat } from '../domain/statements/statement-line.js';

/** One reconciliation of one source's statement of one business day, as stored. */
export interface ReconciliationRecord {
  readonly id: string;
  /** The tenant of whoever ran it (statements are the deployment's, its items of any tenant). */
  readonly tenantId: string;
  /** A gateway or recharge channel name. */
  readonly source: string;
  /** `YYYY-MM-DD`, Asia/Shanghai. */
  readonly businessDate: string;
  readonly format: StatementFormat;
  /** The statement file's name (fetched or given). */
  readonly fileName: string;
  readonly status: 'done' | 'failed';
  /** Why it failed (the statement could not be had or read), null when done. */
  readonly error: string | null;
  readonly report: ReconciliationReport | null;
  readonly createdBy: string;
  readonly createdAt: number;
}

export type RepairStatus = 'proposed' | 'applied' | 'failed';

/** A repair proposed for one item; one per (source, item, action), whichever run proposed it first. */
export interface RepairRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly reconciliationId: string;
  readonly source: string;
  readonly businessDate: string;
  /** The report item's key (`payment:<out_trade_no>`, `refund:<out_refund_no>`, `recharge:<order id>`). */
  readonly itemKey: string;
  readonly category: Category;
  readonly action: RepairAction;
  readonly why: ProposedRepair['why'];
  readonly notBefore: number | null;
  /** The report item as it stood when proposed (amounts, statuses, the resource). */
  readonly item: Readonly<Record<string, unknown>>;
  readonly status: RepairStatus;
  /** What applying it found and did, in words. */
  readonly result: string | null;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly createdAt: number;
  readonly version: number;
}

export interface ReconciliationRepository {
  insert(run: ReconciliationRecord): Promise<void>;
  get(id: string): Promise<ReconciliationRecord | undefined>;
  /** Newest first, optionally of one source and day, before `beforeId` (paging). */
  list(filter: {
    readonly source?: string;
    readonly businessDate?: string;
    readonly beforeId?: string;
    readonly limit: number;
  }): Promise<ReconciliationRecord[]>;
  /** Propose a repair unless one for the same (source, item, action) exists; the stored one either way. */
  propose(repair: RepairRecord): Promise<RepairRecord>;
  getRepair(id: string): Promise<RepairRecord | undefined>;
  /** The repairs of a source's day, in item order. */
  repairsOf(source: string, businessDate: string): Promise<RepairRecord[]>;
  /** Version-checked write of a repair's decision. */
  updateRepair(repair: RepairRecord, expectedVersion: number): Promise<boolean>;
}
