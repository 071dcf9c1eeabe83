import type { RunRecord } from "../plan/run-record.js";

/**
 * Rows the dataset holds after a batch was written: the batch itself when it replaced the dataset
 * (window/full exports, merge/eager against the target), else the previous successful run's size
 * plus the rows it added (for an upsert: the rows of new keys); null when the previous run did not
 * record its size.
 */
export function datasetRows(
  extent: "replace" | "append" | "upsert",
  batchRows: number,
  previous: RunRecord | undefined,
): number | null {
  if (extent === "replace" || !previous) return batchRows;
  const before = previous.rows.dataset;
  return before === undefined || before === null ? null : before + batchRows;
}
