/**
 * Wait for `work` at most `ms` of real time: a request answers with what it has when its
 * deadline comes (the work goes on, durably, and the answer says where it stands). Real time on
 * purpose: this bounds how long a caller waits for an answer, not when anything happens.
 */
export async function waitAwhile<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
