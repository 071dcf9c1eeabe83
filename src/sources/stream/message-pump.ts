/**
 * Pulls from a broker client's async iterator in batches: `next(max, waitMs, signal)` resolves with
 * up to `max` items, waiting for the first until one arrives or `signal` aborts (then []), and at
 * most `waitMs` more for the rest. An iterator step still pending when a batch closes is kept for
 * the next call, so no item is lost between batches.
 */
export class MessagePump<T> {
  private step: Promise<IteratorResult<T>> | undefined;
  private done = false;
  private ready: T[] = [];

  constructor(private readonly it: AsyncIterator<T>) {}

  /** Items taken from the iterator but not handed out yet. */
  get buffered(): number {
    return this.ready.length;
  }

  async next(max: number, waitMs: number, signal: AbortSignal): Promise<T[]> {
    const out = this.ready.splice(0, max);
    if (out.length === 0) {
      const first = await this.race(signal);
      if (first === undefined) return [];
      out.push(first);
    }
    if (out.length >= max) return out;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), waitMs);
    const both = AbortSignal.any([signal, deadline.signal]);
    try {
      while (out.length < max) {
        const item = await this.race(both);
        if (item === undefined) break;
        out.push(item);
      }
    } finally {
      clearTimeout(timer);
    }
    return out;
  }

  /** The next item, or undefined when `signal` aborts first or the iterator ended. */
  private async race(signal: AbortSignal): Promise<T | undefined> {
    if (this.done || signal.aborted) return undefined;
    this.step ??= this.it.next();
    const step = this.step;
    const aborted = new Promise<undefined>((resolve) =>
      signal.addEventListener("abort", () => resolve(undefined), { once: true }),
    );
    const result = await Promise.race([step, aborted]);
    if (result === undefined) return undefined;
    this.step = undefined;
    if (result.done) {
      this.done = true;
      return undefined;
    }
    return result.value;
  }
}
