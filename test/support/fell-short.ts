import { expect } from 'vitest';

/**
 * A checked write that fell short: `false` at once or, where writes travel in batches (PostgreSQL),
 * the unit of work fails with the error its caller would have thrown on that `false`.
 */
export async function fellShort(run: Promise<boolean>, error: new (message: string) => Error): Promise<void> {
  const outcome = await run.then(
    (v) => v,
    (e: unknown) => e,
  );
  if (outcome !== false) expect(outcome).toBeInstanceOf(error);
}
