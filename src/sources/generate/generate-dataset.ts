import type { Engine } from "../../engine/engine.js";
import { ident } from "../../engine/sql.js";
import type { Dataset } from "./dataset.js";
import { datasetNamed } from "./datasets.js";
import { type GenerateOptions, type GenerationPlan, planGeneration } from "./generation-plan.js";

/** A resolved generation: the dataset, its plan and the SELECT that yields it. */
export interface GenerationQuery {
  readonly dataset: Dataset;
  readonly plan: GenerationPlan;
  /** A DuckDB SELECT yielding exactly `plan.rows` rows, in generation order. */
  readonly sql: string;
}

/** Shapes of the generated SELECT for its consumers. */
export interface GenerationQueryOptions {
  /**
   * Relation holding `range` BIGINT 0..rows-1 in order (see withPositions).
   * Default: DuckDB's `range()`, which runs on one thread.
   */
  readonly positions?: string;
  /** Adds `_source_pos` VARCHAR ("row 1", "row 2", ...), as sources deliver it. */
  readonly sourcePos?: boolean;
  /**
   * Timestamps as ISO-8601 strings (`2025-03-01T09:00:00.123Z`) instead of
   * TIMESTAMPTZ: what text outputs (JSONL, CSV) should carry.
   */
  readonly isoTimestamps?: boolean;
  /** Enum-like columns as DuckDB ENUMs (faster Parquet writes; read back as VARCHAR). */
  readonly enums?: boolean;
}

/**
 * Resolves `options` (ConfigError on bad ones) and builds the SELECT that
 * generates the dataset inside DuckDB. Rows come out in generation order,
 * so a COPY of this SELECT writes the same bytes for the same options.
 */
export function generationQuery(options: GenerateOptions, shape: GenerationQueryOptions = {}): GenerationQuery {
  const dataset = datasetNamed(options.dataset);
  const plan = planGeneration(options, dataset);
  const columns = dataset.columns.map((c) => {
    const col = ident(c.name);
    if (shape.isoTimestamps && c.type === "TIMESTAMP WITH TIME ZONE") {
      return `strftime(${col}, '%Y-%m-%dT%H:%M:%S.%gZ') AS ${col}`;
    }
    return col;
  });
  if (shape.sourcePos) columns.push(`'row ' || (_i + 1) AS _source_pos`);
  const positions = shape.positions ?? `range(${plan.rows})`;
  const inner = dataset.sql(plan, { positions, enums: shape.enums === true });
  return { dataset, plan, sql: `SELECT ${columns.join(", ")} FROM (${inner})` };
}

/**
 * Runs `work` with a temporary table of positions 0..rows-1 (named for it),
 * dropped afterwards. Generating from a table instead of `range()` lets
 * DuckDB use every thread while keeping row order (the generator SQL is a
 * chain of projections, which preserve order).
 */
export async function withPositions<T>(
  engine: Engine,
  rows: number,
  name: string,
  work: (positions: string) => Promise<T>,
): Promise<T> {
  const table = ident(name);
  await engine.run(`CREATE OR REPLACE TEMP TABLE ${table} AS SELECT range FROM range(${rows})`, "generate");
  try {
    return await work(table);
  } finally {
    await engine.run(`DROP TABLE IF EXISTS ${table}`, "generate");
  }
}

/**
 * Generates a dataset into `engine` as the table `relation` (created or
 * replaced), with the dataset's columns and types in order, plus
 * `_source_pos` when asked. Everything happens in DuckDB SQL.
 */
export async function generateDataset(
  engine: Engine,
  options: GenerateOptions,
  relation: string,
  shape: Omit<GenerationQueryOptions, "positions"> = {},
): Promise<GenerationQuery & { readonly relation: string; readonly rows: number }> {
  const probe = generationQuery(options, shape);
  return withPositions(engine, probe.plan.rows, `${relation}__positions`, async (positions) => {
    const query = generationQuery(options, { ...shape, positions });
    await engine.run(`CREATE OR REPLACE TABLE ${ident(relation)} AS ${query.sql}`, "generate");
    return { ...query, relation, rows: query.plan.rows };
  });
}
