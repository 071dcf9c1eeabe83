import type { Engine } from "../engine/engine.js";
import type { Logger } from "../util/logger.js";

/**
 * What a sink may use of the run (the driver's context satisfies it): the engine the batch lives in,
 * fresh relation names, where the lake and the default warehouse are, the run's id and start.
 */
export interface SinkContext {
  readonly runId: string;
  readonly engine: Engine;
  /** Absolute lake root: relative sink paths resolve against it. */
  readonly dataDir: string;
  /** Absolute directory of the config file: a relative warehouse path resolves against it. */
  readonly configDir: string;
  /** Absolute path of the default DuckDB warehouse file. */
  readonly warehousePath: string;
  /** The run's start: snapshot file names and their timestamps. */
  readonly startedAt: Date;
  readonly log: Logger;
  /** A fresh relation name, e.g. tmpName("sink") -> "sink_3". */
  tmpName(prefix: string): string;
}

/** One output of a run, as it appears in the run record. */
export interface SinkOutput {
  readonly sink: string;
  readonly path?: string;
  readonly table?: string;
  readonly rows: number;
  readonly bytes?: number;
  /**
   * `written`: this write committed the batch; `held`: the target already held the batch (a retry,
   * a rerun after a failure, a redelivery) and nothing was written; `skipped`: an on_error=warn sink
   * could not write, `warning` says why, and the target does not hold the batch.
   */
  readonly status: "written" | "held" | "skipped";
  readonly warning?: string;
  /** Absolute paths of the Parquet files this output consists of (for views over them). */
  readonly files?: readonly string[];
  /** A FROM-expression reading exactly this output's rows (a Delta table's version just committed). */
  readonly scan?: string;
  /** What dedup did for this sink (its own strategy, against its own rows): set by the plan, not the sink. */
  readonly dedup?: SinkDedup;
  /** Rows the target refused (e.g. a constraint): a relation in ctx.engine with the batch's columns plus `_error` VARCHAR; the plan sends them to the batch's dead letter. */
  readonly rejected?: { readonly relation: string; readonly rows: number };
}

/** One sink's dedup in the run record (`outputs[].dedup`): duplicates seen, and what became of them. */
export interface SinkDedup {
  readonly strategy: "none" | "bronze_append" | "merge" | "eager";
  /** Rows of the batch whose key was seen before: earlier in the batch, or in this sink's table. */
  readonly duplicates_seen: number;
  readonly within_batch: number;
  readonly against_table: number;
  /** `dropped` (eager; merge's losing versions), `merged` (merge), `kept_and_marked` (bronze_append), `kept`. */
  readonly action: "dropped" | "merged" | "kept_and_marked" | "kept";
  /** Duplicate rows not written. */
  readonly dropped: number;
  /** merge: rows of the table a newer batch row replaced. */
  readonly merged?: number;
  /** bronze_append: rows written with `_duplicate` true. */
  readonly marked?: number;
  /** Rows of the batch handed to the sink. */
  readonly written: number;
}

/** How the batch relates to what the target already holds. */
export interface WriteIntent {
  /**
   * `replace`: the relation is the whole dataset; `append`: rows to add; `upsert`: rows that
   * replace the target's rows with the same `key` (or are added when none has it).
   */
  readonly extent: "replace" | "append" | "upsert";
  /** upsert: the key columns (no key is held twice by the relation; NULL-key rows are added). */
  readonly key?: readonly string[];
  /**
   * Set when dedup compared the batch against one sink's rows (merge, eager, bronze_append into
   * incremental sinks): the delta is relative to that sink's state. Another sink whose last batch
   * (`Sink.head`) differs from `basis.head` missed a batch and takes `basis.full()` instead.
   */
  readonly basis?: DeltaBasis;
  /**
   * The batch's id, fixed before its first write and the same in every retry, rerun or redelivery
   * of it. The sink commits it together with the rows (same file, metadata or transaction).
   */
  readonly batchId: string;
  /** The file the relation reads, when it is one staged Parquet file (see plan/stage-batch.ts). */
  readonly staged?: StagedFile;
}

/** The state a delta was computed against (see `WriteIntent.basis`). */
export interface DeltaBasis {
  /** The sink whose rows dedup compared the batch against. */
  readonly sink: string;
  /** The last batch that sink held before this one (undefined: none). */
  readonly head: string | undefined;
  /** The whole dataset as that sink holds it now (it writes first), or undefined when it holds none. */
  full(): Promise<string | undefined>;
}

/** Only target rows with one of these keys are needed (a superset is fine). */
export interface KeyProbe {
  /** A relation holding the batch's rows (at least the key columns). */
  readonly relation: string;
  readonly key: readonly string[];
}

/**
 * The batch as one Parquet file in the run's scratch folder (same file system as the lake). A sink
 * that would write exactly this file (same COPY options, whole dataset) may hard-link it instead of
 * writing it again; the file is never modified, and the scratch folder only drops its own name.
 */
export interface StagedFile {
  readonly path: string;
  /** The COPY option list it was written with, as copyOptions() spells it. */
  readonly options: string;
  readonly rows: number;
}

/**
 * A sink writes the final relation of a run.
 *
 * Contract: `write` makes its output visible atomically (written aside, then
 * renamed or committed in one transaction): after a crash at any moment the
 * target shows either the old or the new state. It commits `intent.batchId`
 * with the rows, and an `append` of a batch the target already holds writes
 * nothing and reports `held` (a `replace` is idempotent by itself). `previous`
 * holds the outputs of the sinks before it in the same run (a DuckDB view
 * reads the Parquet files a parquet sink just wrote).
 */
export interface Sink {
  /** e.g. `parquet:raw/behavioral_events`, `duckdb:research.behavioral_events`. */
  readonly name: string;
  write(ctx: SinkContext, relation: string, intent: WriteIntent, previous: readonly SinkOutput[]): Promise<SinkOutput>;
  /**
   * Whether the target holds batch `batchId` now (committed by an earlier attempt or run). The
   * driver asks every sink after a run to tell whether they all agree.
   */
  holds(ctx: SinkContext, batchId: string): Promise<boolean>;
  /**
   * SQL FROM-expression for the rows the target already holds, or undefined
   * when it holds none. Used by merge/eager dedup to compare against the table.
   * With `probe`, at least the rows with one of its keys (an incremental sink
   * reads only those).
   */
  existing?(ctx: SinkContext, probe?: KeyProbe): Promise<string | undefined>;
  /**
   * True when the sink applies `append` and `upsert` at a cost that follows the batch, not the
   * target (a Delta table, a warehouse table, a view): dedup then hands it only what changed.
   * Otherwise every merge/eager batch is the whole dataset (`replace`).
   */
  readonly incremental: boolean;
  /** The id of the last batch the target committed (undefined: none); sinks that check `basis`. */
  head?(ctx: SinkContext): Promise<string | undefined>;
}
