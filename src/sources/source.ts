import type { Engine } from "../engine/engine.js";
import type { Logger } from "../util/logger.js";
import type { Progress } from "../util/progress.js";

/**
 * What the stages after the source need from the read, decided by the driver from the pipeline (a
 * source never reads the contract, the transforms or dedup). No contract, no transforms: `{ text:
 * false, columns: [], addMissing: false, allKeys: true }`.
 */
export interface ReadHints {
  /**
   * A contract checks the batch later: deliver every value as text (VARCHAR; nested JSON as its text)
   * and hand over a lazy batch (ExtractResult.materialize) where the input allows it.
   */
  readonly text: boolean;
  /** The columns the contract checks (empty without one); an input with no records still has them. */
  readonly columns: readonly string[];
  /**
   * Add the `columns` the input lacks as NULL columns, so the contract reports them per row (false
   * when transforms run first: their output, not the input, has those names).
   */
  readonly addMissing: boolean;
  /** Read every key of every record; false: only `columns` matter (the contract drops extra columns). */
  readonly allKeys: boolean;
}

/** Command-line overrides a source honours for one run (`--days`, `--full`, `--incremental`, `--user-id`). */
export interface SourceOptions {
  readonly days?: number;
  readonly full?: boolean;
  readonly incremental?: boolean;
  readonly userId?: string;
}

/**
 * What a source may use of the run (the driver's context satisfies it): the engine the batch goes
 * into, fresh relation names, folders, the pipeline's committed state and the read hints.
 */
export interface SourceContext {
  readonly runId: string;
  readonly pipeline: string;
  readonly engine: Engine;
  /** Absolute lake root. */
  readonly dataDir: string;
  /** Absolute scratch folder of this attempt: removed when it ends. */
  readonly scratchDir: string;
  /** Absolute directory of the config file: relative source paths resolve against it. */
  readonly configDir: string;
  readonly startedAt: Date;
  readonly options: SourceOptions;
  /** The pipeline's committed state (watermark, positions); `{}` on a first run. */
  readonly state: Readonly<Record<string, unknown>>;
  /**
   * Set when the driver finishes an interrupted batch: the state that batch ends at (e.g. `{
   * watermark }`). The source reads nothing past it, so the batch is read with the same range.
   */
  readonly until?: Readonly<Record<string, unknown>>;
  readonly readHints: ReadHints;
  readonly log: Logger;
  readonly progress: Progress;
  /** A fresh relation name for this run, e.g. tmpName("src") -> "src_3". */
  tmpName(prefix: string): string;
}

/** What a source hands the runner: a relation inside the run's DuckDB engine. */
export interface ExtractResult {
  /**
   * Table or view in `ctx.engine` with one row per parsed input record, in
   * source order. Columns as the source gives them, plus `_source_pos`
   * (VARCHAR: "file.jsonl:17", "offset 42", a key) where the source knows it.
   */
  readonly relation: string;
  /** Rows in `relation`. */
  readonly rows: number;
  /**
   * Records that could not be parsed at all (malformed JSON line, CSV row with
   * the wrong field count), as a relation with columns
   * `_source_pos VARCHAR, _raw VARCHAR, _error VARCHAR`. Never silently dropped:
   * the runner quarantines them, reports them, or fails the run.
   */
  readonly unparseable?: { readonly relation: string; readonly rows: number };
  /**
   * Present when `relation` is lazy: a view that reads the input again on every scan and has no
   * `_source_pos` (a file read straight by DuckDB). `rows` is still exact. The runner scans it once
   * when the contract can be checked inside the write (see validateBatch's deferred mode), and
   * otherwise calls `materialize` first: the batch loaded into the engine, with positions, and any
   * unparseable records found while loading it.
   */
  readonly materialize?: () => Promise<LoadedBatch>;
  /** State to commit once every sink committed (e.g. the new watermark). */
  readonly nextState?: Record<string, unknown>;
  /**
   * The batch's id when the source can name it by what it holds (a stream: its first and last
   * positions), so a batch read again gets the same id; default the run's id.
   */
  readonly batchId?: string;
  /**
   * `replace`: the batch is the whole dataset (full and window exports);
   * `append`: the batch is a delta (incremental, streaming).
   */
  readonly extent: "replace" | "append";
  /**
   * The batch is the dataset exactly as the source holds it now (a window or full export of a
   * table): merge/eager dedup within the batch only, never against the target, so rows that left
   * the window or came from another database do not stay. Without it, merge/eager also compare
   * against what the target holds (files dropped again, incremental loads, replays).
   */
  readonly complete?: boolean;
  /** Human description of what was read, e.g. `public."BehavioralEvent"` or 3 files. Secrets redacted. */
  readonly description: string;
}

/** A batch loaded into the engine (ExtractResult.materialize). */
export interface LoadedBatch {
  readonly relation: string;
  readonly rows: number;
  readonly unparseable?: { readonly relation: string; readonly rows: number };
}

/**
 * A source loads one batch into the engine.
 *
 * Contract: `extract` either returns a complete batch or throws; it leaves
 * nothing visible outside the engine. Errors are SluiceErrors marked
 * `transient` when a retry may succeed.
 */
export interface Source {
  extract(ctx: SourceContext): Promise<ExtractResult>;
  /** Tests connections and that the input exists (`sluice check`). */
  check?(ctx: Pick<SourceContext, "configDir" | "log" | "dataDir">): Promise<string>;
  /**
   * The columns `extract` would deliver (name, DuckDB type; without `_source_pos`), found cheaply
   * (a DESCRIBE, a zero-row generation), for `sluice check`. Throws what `extract` would on bad input.
   */
  columns?(ctx: Pick<SourceContext, "configDir" | "engine">): Promise<{ name: string; type: string }[]>;
}
