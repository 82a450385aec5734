import type { AuditCheckpoint, AuditCheckpointSink } from '../../ports/audit-checkpoints.js';
import { checkpointLine } from './file-checkpoint-sink.js';

/**
 * Checkpoints POSTed to a URL as the same JSON a checkpoint file line holds (so the receiver can
 * append the bodies to a file and hand it to `audit verify --checkpoint`). A checkpoint counts as
 * exported only on a 2xx answer; otherwise the next tick sends the heads again.
 */
export class WebhookCheckpointSink implements AuditCheckpointSink {
  readonly describe: string;

  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {
    // The path may carry a token: name the host only.
    this.describe = `webhook ${new URL(url).origin}`;
  }

  async append(cp: AuditCheckpoint): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: checkpointLine(cp),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`${this.describe} answered ${res.status}`);
  }
}

/** Several sinks as one: a checkpoint counts once every one of them took it. */
export class AllCheckpointSinks implements AuditCheckpointSink {
  readonly describe: string;

  constructor(private readonly sinks: readonly AuditCheckpointSink[]) {
    this.describe = sinks.map((s) => s.describe).join(' and ');
  }

  async append(cp: AuditCheckpoint): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.append(cp)));
  }
}
