import type { StateStore } from "./state-store.js";

/**
 * A batch whose identity is fixed but which not every sink holds yet: written to the pipeline's
 * state before the first sink publishes anything. The next attempt or run finishes this same
 * batch (same id, same read range) before reading further; sinks that committed it skip it.
 */
export interface PendingBatch {
  readonly batch_id: string;
  /** The run that started it. */
  readonly run_id: string;
  /** The state the batch ends at (e.g. `{ watermark }`): the read range's upper bound, committed with it. */
  readonly until: Record<string, unknown>;
}

/** The pipeline's unfinished batch, if any. */
export function pendingBatch(state: Readonly<Record<string, unknown>>): PendingBatch | undefined {
  const p = state.pending as Partial<PendingBatch> | undefined;
  if (!p || typeof p.batch_id !== "string" || typeof p.run_id !== "string" || typeof p.until !== "object")
    return undefined;
  return p as PendingBatch;
}

/** Records the intent to commit `batch` (atomic, before any sink writes). */
export function recordIntent(
  store: StateStore,
  pipeline: string,
  state: Readonly<Record<string, unknown>>,
  batch: PendingBatch,
): void {
  store.commit(pipeline, { ...state, pending: batch });
}

/** The state once every sink holds the batch: its end state, and no pending batch. */
export function committedState(
  state: Readonly<Record<string, unknown>>,
  until: Record<string, unknown>,
): Record<string, unknown> {
  const { pending: _done, ...rest } = state;
  return { ...rest, ...until };
}
