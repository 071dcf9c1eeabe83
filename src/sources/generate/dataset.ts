import type { GenerationPlan } from "./generation-plan.js";

/** One column of a generated dataset, with the DuckDB type it is delivered as. */
export interface DatasetColumn {
  readonly name: string;
  readonly type: string;
  /** What the column holds and its value contract, for help texts and docs. */
  readonly description: string;
  /** The allowed values of an enum-like column (valid rows only). */
  readonly values?: readonly string[];
}

/** How the generated SELECT is consumed. */
export interface DatasetSqlContext {
  /** Relation with `range` BIGINT 0..rows-1 in order (see positionsSql). */
  readonly positions: string;
  /**
   * Enum-like columns may be typed as DuckDB ENUMs: Parquet stores them as
   * dictionary-encoded strings (read back as VARCHAR) and writes them about
   * three times faster. Only for file outputs; sources deliver VARCHAR.
   */
  readonly enums: boolean;
}

/**
 * A built-in synthetic dataset: its schema and the SQL that makes it.
 *
 * Contract of `sql(plan, ctx)`: a single DuckDB SELECT over `ctx.positions`
 * yielding exactly `plan.rows` rows with `columns` in order and of those
 * types (ENUM for enum-like columns when `ctx.enums`), plus `_i` (BIGINT, the
 * 0-based row position) as the last column. Every value is a pure function
 * of the plan (seed, anchor, days, users, chaos), so the same plan yields
 * the same rows. The SELECT has no joins, aggregates or sorts: DuckDB keeps
 * the positions' order through it even when it runs on several threads.
 */
export interface Dataset {
  readonly name: string;
  /** The scenario it serves, one line. */
  readonly description: string;
  readonly columns: readonly DatasetColumn[];
  /** Column identifying a record; duplicates injected by `dup_rate` repeat it. */
  readonly key: string;
  /** Column the rows are ordered by when no chaos is injected. */
  readonly timeColumn: string;
  /** What `invalid_rate` breaks, for help texts. */
  readonly invalidKinds: readonly string[];
  sql(plan: GenerationPlan, ctx: DatasetSqlContext): string;
}
