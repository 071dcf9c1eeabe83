/**
 * Exponential backoff: `baseMs * 2^(attempt-1)`, at most `maxMs` (attempt counts from 1). Without
 * jitter: the scheduler's retries are one process per pipeline, nothing to spread out.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * The restart delay of a supervised worker: 1 s, doubling to 60 s for a worker that keeps dying, back
 * to 1 s once it ran `healthyMs` (a minute) before exiting.
 */
export class RestartBackoff {
  private failures = 0;

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 60_000,
    private readonly healthyMs = 60_000,
  ) {}

  /** The delay before the next start, given how long the worker that just exited had run. */
  next(ranMs: number): number {
    if (ranMs >= this.healthyMs) this.failures = 0;
    this.failures++;
    return backoffDelay(this.failures, this.baseMs, this.maxMs);
  }
}
