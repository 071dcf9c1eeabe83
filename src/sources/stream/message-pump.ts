/**
 * Pulls from a broker client's async iterator in batches: `next(max, waitMs, signal)` resolves with
 * up to `max` items, waiting for the first until one arrives or `signal` aborts (then []), and at
 * most `waitMs` more for the rest. An iterator step still pending when a batch closes is kept for
 * the next call, so no item is lost between batches. One timer and one abort listener per call,
 * removed when it returns (a listener per item would make a batch quadratic).
 */
export class MessagePump<T> {
  private step: Promise<IteratorResult<T>> | undefined;
  private done = false;

  constructor(private readonly it: AsyncIterator<T>) {}

  async next(max: number, waitMs: number, signal: AbortSignal): Promise<T[]> {
    const out: T[] = [];
    if (this.done || signal.aborted) return out;
    let release = () => {};
    const stopped = new Promise<undefined>((resolve) => {
      const onAbort = () => resolve(undefined);
      signal.addEventListener("abort", onAbort, { once: true });
      release = () => signal.removeEventListener("abort", onAbort);
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      let until: Promise<undefined> = stopped;
      while (out.length < max) {
        this.step ??= this.it.next();
        const result = await Promise.race([this.step, until]);
        if (result === undefined) break;
        this.step = undefined;
        if (result.done) {
          this.done = true;
          break;
        }
        out.push(result.value);
        if (out.length === 1) {
          // The first item is in: the batch closes `waitMs` from now at the latest.
          const deadline = new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), waitMs);
          });
          until = Promise.race([stopped, deadline]);
        }
      }
    } finally {
      release();
      if (timer) clearTimeout(timer);
    }
    return out;
  }
}
