import type { RunRecord } from "../plan/run-record.js";

/** What a stream did in its life (printed when it stops). */
export interface StreamSummary {
  readonly pipeline: string;
  readonly started_at: string;
  finished_at: string;
  batches: number;
  failed: number;
  /** `dead_lettered`: rows the plan dead-lettered (an enrichment's failures, rows a sink refused). */
  rows: { extracted: number; written: number; quarantined: number; dead_lettered?: number };
  /** The worker's own slot (0 for the first worker of a pipeline), unset while it waited as a standby. */
  slot?: number;
  /** Slots other workers left that this one took over. */
  adopted?: number[];
  /** The committed position of its own slot when it stopped. */
  position?: string;
  /** Micro-batches whose messages went to the dead letter. */
  dead_lettered?: number;
  lag?: RunRecord["lag"];
}
