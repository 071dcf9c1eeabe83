import type { GenerationPlan } from "./generation-plan.js";

/** One column of a generated dataset, with the DuckDB type it is delivered as. */
export interface DatasetColumn {
  readonly name: string;
  readonly type: string;
  /** What the column holds and its value contract, for help texts and docs. */
  readonly description: string;
}

/**
 * A built-in synthetic dataset: its schema and the SQL that makes it.
 *
 * Contract of `sql(plan)`: a single DuckDB SELECT over `range(plan.rows)`
 * yielding exactly `plan.rows` rows with `columns` in order and of those
 * types, plus `_i` (BIGINT, the 0-based row position) as the last column.
 * Rows come out in `_i` order, and every value is a pure function of the
 * plan (seed, anchor, days, users, chaos), so the same plan yields the same
 * rows in the same order.
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
  sql(plan: GenerationPlan): string;
}
