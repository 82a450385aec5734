import type { ErrorCode, Result } from '../../domain/result.js';

/** A use-case outcome that is not what was asked for: a refusal with a stable code. */
export class UseCaseError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'UseCaseError';
  }
}

/** Run a use case body; expected refusals thrown inside transactions come back as values. */
export async function asResult<T>(body: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    if (e instanceof UseCaseError) {
      return {
        ok: false,
        error:
          e.details === undefined
            ? { code: e.code, message: e.message }
            : { code: e.code, message: e.message, details: e.details },
      };
    }
    throw e;
  }
}

/** Whether `e` is a version conflict: someone else committed a change to the same row first. */
export function isConflict(e: unknown): boolean {
  return e instanceof UseCaseError && e.code === 'CONCURRENT_MODIFICATION';
}
