import type { SinkOutput } from "../sinks/sink.js";

export type RunStatus = "succeeded" | "failed" | "validation_failed";

/** Quality metrics of one run (SPEC section 8). */
export interface RunMetrics {
  /** valid rows / (valid + quarantined or failed); 1 when there were no rows. */
  validation_pass_rate: number;
  /** Share of NULLs per column of the written rows. */
  null_rate: Record<string, number>;
  /** Distinct values per configured column (contract `unique` columns and `unique.COL` alerts). */
  unique: Record<string, number>;
  /** (rows written - previous successful run's) / previous; null on a first run. */
  row_count_delta: number | null;
  /** duplicates seen / rows extracted. */
  duplicate_rate: number;
}

export interface FiredAlert {
  metric: string;
  value: number | null;
  rule: string;
  message: string;
}

/** The record of one run, kept in the ledger and printed by `--json`. */
export interface RunRecord {
  run_id: string;
  pipeline: string;
  status: RunStatus;
  processing_type: "batch" | "streaming";
  started_at: string;
  finished_at: string;
  attempts: number;
  source: string;
  /** Invariant: extracted = filtered + valid + quarantined; written = valid - duplicates_dropped (+ merged target rows are not counted). */
  rows: {
    extracted: number;
    /** Removed by `filter` / `sql` transforms, by the user's predicate. */
    filtered: number;
    valid: number;
    quarantined: number;
    duplicates: number;
    duplicates_dropped: number;
    written: number;
  };
  outputs: SinkOutput[];
  durations_ms: Record<string, number>;
  metrics: RunMetrics;
  alerts: FiredAlert[];
  warnings: string[];
  quarantine_path?: string;
  report_path?: string;
  state?: Record<string, unknown>;
  error?: { message: string; hint?: string; component?: string; stage?: string };
}
