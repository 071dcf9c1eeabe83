import type { RunContext } from "../plan/batch-context.js";

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
  extract(ctx: RunContext): Promise<ExtractResult>;
  /** Tests connections and that the input exists (`sluice check`). */
  check?(ctx: Pick<RunContext, "configDir" | "log" | "dataDir">): Promise<string>;
  /**
   * The columns `extract` would deliver (name, DuckDB type; without `_source_pos`), found cheaply
   * (a DESCRIBE, a zero-row generation), for `sluice check`. Throws what `extract` would on bad input.
   */
  columns?(ctx: Pick<RunContext, "configDir" | "engine">): Promise<{ name: string; type: string }[]>;
}
