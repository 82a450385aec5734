/**
 * `work`, or a failure naming `what` if it has not settled after `ms`. A bound on a wait that
 * should end (an adapter's own timeout, a simulator going idle), so a regression fails the test
 * with a clear message instead of hanging it until vitest's timeout; never a pause before an
 * assertion that something did not happen.
 */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}
