import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { AuditCheckpoint, AuditCheckpointSink } from '../../ports/audit-checkpoints.js';

const lineSchema = z.object({
  at: z.iso.datetime(),
  heads: z.array(
    z.object({
      tenant_id: z.string().min(1),
      shard: z.number().int().min(0),
      seq: z.number().int().min(0),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

/** One checkpoint as one JSON line (what `audit verify --checkpoint` reads back). */
export function checkpointLine(cp: AuditCheckpoint): string {
  return JSON.stringify({
    at: new Date(cp.at).toISOString(),
    heads: cp.heads.map((h) => ({ tenant_id: h.tenantId, shard: h.shard, seq: h.seq, hash: h.hash })),
  });
}

/** The checkpoints of a file of such lines; a line that is not one throws, naming its number. */
export function parseCheckpoints(text: string): AuditCheckpoint[] {
  const out: AuditCheckpoint[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new Error(`line ${i + 1} is not JSON`);
    }
    const parsed = lineSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`line ${i + 1} is not a checkpoint: ${parsed.error.issues[0]?.message ?? ''}`);
    out.push({
      at: Date.parse(parsed.data.at),
      heads: parsed.data.heads.map((h) => ({ tenantId: h.tenant_id, shard: h.shard, seq: h.seq, hash: h.hash })),
    });
  });
  return out;
}

/**
 * Checkpoints appended to a file, one JSON line each, synced to disk before the append counts.
 * Point it at storage the database's operators cannot rewrite (another host, a WORM bucket's
 * mount): a checkpoint only proves anything where the chain's attacker cannot reach it.
 */
export class FileCheckpointSink implements AuditCheckpointSink {
  readonly describe: string;

  constructor(private readonly path: string) {
    this.describe = `file ${path}`;
  }

  async append(cp: AuditCheckpoint): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const f = await open(this.path, 'a', 0o640);
    try {
      await f.appendFile(`${checkpointLine(cp)}\n`);
      await f.datasync();
    } finally {
      await f.close();
    }
  }
}
