import type { SinkOutput } from "../sinks/sink.js";
import type { RunMetrics, RunRecord } from "./run-record.js";
import type { BatchTap } from "./verdict-rows.js";

/** Times a stage of a batch (the driver keeps the durations and shows progress). */
export type StageTimer = <T>(stage: string, fn: () => Promise<T>) => Promise<T>;

/** What a driver tells the plan about the batch's surroundings, and hears back while it runs. */
export interface BatchObserver {
  readonly timed: StageTimer;
  /** Counts so far, each time a stage has them (a failing batch still reports how far it got). */
  onRows?(rows: RunRecord["rows"]): void;
  /** Each sink's output as soon as it committed (or held, or skipped) the batch. */
  onOutput?(output: SinkOutput): void;
  /** The previous successful run's record: the dataset's size before this batch, for row_count_delta. */
  readonly previous?: RunRecord | undefined;
  /**
   * A tap (`sluice tail`): called once the sinks have the batch, with its rows after transforms and
   * the contract and their verdict (plan/verdict-rows.ts). What it throws is logged, never the batch's failure.
   */
  readonly onValidated?: BatchTap | undefined;
}

/**
 * What one batch did, for the driver to commit and record. `agreed`: every sink holds the batch now
 * (written or held), so the driver may move the state and ack the messages; otherwise some sink
 * skipped it (on_error: warn) and the driver keeps the batch pending for the next run to repair.
 */
export interface BatchOutcome {
  readonly rows: RunRecord["rows"];
  readonly outputs: readonly SinkOutput[];
  readonly agreed: boolean;
  /** The quarantined rows, staged in the scratch folder: the driver publishes them with the commit. */
  readonly quarantine?: string;
  /**
   * The batch's dead letters (enrichment failures, rows a sink refused), staged in the scratch folder:
   * the driver publishes them with the commit as `deadletter/<pipeline>/<batch_id>.rows.parquet`.
   */
  readonly deadLetters?: { readonly path: string; readonly rows: number };
  readonly metrics: RunMetrics;
  readonly warnings: readonly string[];
}
