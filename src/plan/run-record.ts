import type { SinkRetention } from "../sinks/parquet/expire-parquet.js";
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
  /** (dataset rows - previous successful run's dataset rows) / previous; null without a previous size. */
  row_count_delta: number | null;
  /** duplicates seen / rows extracted. */
  duplicate_rate: number;
}

export interface FiredAlert {
  metric: string;
  value: number | null;
  rule: string;
  message: string;
  /** The incident this alert belongs to (stable per pipeline and rule; the webhooks' fingerprint). */
  fingerprint?: string;
  /** When that incident started (an earlier run's time when the condition has held since). */
  since?: string;
}

/** What one run cost the process (`resources` of the record). */
export interface RunResources {
  /**
   * The process's peak resident set size so far (getrusage maxrss): for `sluice run` the run's own
   * peak (the process is the run); for a stream micro-batch or a `sluice serve` run in process, the
   * worker's peak up to the end of this run, which a run can only raise.
   */
  peak_rss_bytes: number;
  /** Resident set size when the run ended. */
  rss_bytes: number;
  /** CPU time of the process during the run (every thread, DuckDB's included), in ms. */
  cpu_user_ms: number;
  cpu_system_ms: number;
}

/** The record of one run, kept in the ledger and printed by `--json`. */
export interface RunRecord {
  run_id: string;
  pipeline: string;
  status: RunStatus;
  processing_type: "batch" | "streaming";
  /** streaming: how far the consumer was behind the stream when the micro-batch started. */
  lag?: { messages: number; seconds?: number };
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
    /** Rows of this batch the sinks received: new and changed rows (merge/eager against the target). */
    written: number;
    /** merge/eager against the target: keys the batch added, replaced, and left as they were. */
    keys?: { new: number; changed: number; unchanged: number };
    /**
     * Rows the dataset holds after the run (the whole merged or replaced dataset, or the previous
     * size plus an appended delta); null when it cannot be told (an append after a run that did not
     * record it). Not the batch: a rerun that changes nothing writes 0 rows of a dataset of N.
     */
    dataset?: number | null;
    /**
     * Rows that left the batch as dead letters (`deadletter_path`): records an `http` step could not
     * enrich (not in `valid`: extracted = filtered + dead-lettered by enrichment + valid + quarantined)
     * and rows a sink refused. Set for pipelines with an `http` step, or when a sink refused rows.
     */
    dead_lettered?: number;
  };
  /** The batch this run committed (or tried to): fixed before its first write, the same in every retry. */
  batch_id?: string;
  /** The outputs of the attempt that succeeded ([] for a failed run: see `commits`). */
  outputs: SinkOutput[];
  /**
   * What each sink did in each attempt: `written` (committed the batch), `held` (already held it),
   * `skipped` (could not write, on_error: warn). A failed attempt's commits stay listed.
   */
  commits?: { sink: string; status: SinkOutput["status"]; rows: number; attempt: number }[];
  /**
   * Set when the run ended with some sinks not holding the batch (an on_error: warn sink skipped
   * it): the state did not move, and the next run finishes the batch in `missing`.
   */
  sinks_disagree?: { batch_id: string; missing: string[] };
  durations_ms: Record<string, number>;
  metrics: RunMetrics;
  alerts: FiredAlert[];
  /** Incidents this run ended (a rule that had fired held again), each notified once as resolved. */
  alerts_resolved?: { fingerprint: string; metric: string; rule: string; since: string }[];
  warnings: string[];
  /** Peak memory and CPU time of the run (see RunResources). */
  resources?: RunResources;
  /** `rollups:` refreshed after this run committed (table, rows, time), or skipped with why. */
  rollups?: { name: string; table: string; rows?: number; ms: number; skipped?: string }[];
  /** `on_success` / `on_failure` commands run after the run (a hook's failure is also a warning). */
  hooks?: {
    event: "on_success" | "on_failure";
    command: string;
    exit_code: number | null;
    ms: number;
    signal?: string;
  }[];
  /**
   * `retention_days`: what was removed after the run committed, per parquet sink (set when the
   * pipeline has retention and the run succeeded; a sink whose retention failed is a warning).
   */
  retention?: { days: number; now: string; sinks: SinkRetention[] };
  quarantine_path?: string;
  /** The batch's dead letters, published with the commit (`deadletter/<pipeline>/<batch_id>.rows.parquet`). */
  deadletter_path?: string;
  report_path?: string;
  state?: Record<string, unknown>;
  /** Why the run failed; `transient`: a retry may succeed (a connection, a lock), the input is not at fault. */
  /** `retry_after_ms`: a transient error's own estimate of when a retry can succeed (see SluiceError.retryAfterMs). */
  error?: {
    message: string;
    hint?: string;
    component?: string;
    stage?: string;
    transient?: boolean;
    retry_after_ms?: number;
  };
}
