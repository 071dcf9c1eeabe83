import { literal, qualified } from "../../engine/sql.js";
import type { SinkContext } from "../sink.js";
import { entryKind } from "./warehouse.js";

/**
 * The warehouse's half of the commit protocol (docs/ARCHITECTURE.md): `<schema>._sluice_batches`
 * holds one row per (table, batch) committed into a table of that schema, inserted in the same
 * transaction as the batch's rows, so the table holds a batch exactly when this says so.
 */
export const BATCHES_TABLE = "_sluice_batches";

/** Records `batchId` for `table` (inside the caller's transaction); a replace forgets the earlier ones. */
export async function recordBatch(
  ctx: SinkContext,
  alias: string,
  schema: string,
  table: string,
  batchId: string,
  replace: boolean,
): Promise<void> {
  const name = qualified(alias, schema, BATCHES_TABLE);
  await ctx.engine.run(
    `CREATE TABLE IF NOT EXISTS ${name} (table_name VARCHAR NOT NULL, batch_id VARCHAR NOT NULL, committed_at TIMESTAMPTZ NOT NULL)`,
    "sync",
  );
  if (replace) await ctx.engine.run(`DELETE FROM ${name} WHERE table_name = ${literal(table)}`, "sync");
  await ctx.engine.run(
    // The transaction's start: later for every later commit, so the newest row names the last batch.
    `INSERT INTO ${name} VALUES (${literal(table)}, ${literal(batchId)}, now())`,
    "sync",
  );
}

/** Whether `table` of the attached warehouse holds batch `batchId`. */
export async function holdsBatch(
  ctx: SinkContext,
  alias: string,
  schema: string,
  table: string,
  batchId: string,
): Promise<boolean> {
  if ((await entryKind(ctx, alias, schema, BATCHES_TABLE)) !== "table") return false;
  const row = await ctx.engine.one(
    `SELECT 1 AS held FROM ${qualified(alias, schema, BATCHES_TABLE)} WHERE table_name = ${literal(table)} AND batch_id = ${literal(batchId)} LIMIT 1`,
    "sync",
  );
  return row !== undefined;
}

/** The last batch committed into `table` of the attached warehouse (undefined: none). */
export async function lastBatch(
  ctx: SinkContext,
  alias: string,
  schema: string,
  table: string,
): Promise<string | undefined> {
  if ((await entryKind(ctx, alias, schema, BATCHES_TABLE)) !== "table") return undefined;
  const row = await ctx.engine.one<{ batch_id: string }>(
    `SELECT batch_id FROM ${qualified(alias, schema, BATCHES_TABLE)} WHERE table_name = ${literal(table)} ORDER BY committed_at DESC LIMIT 1`,
    "sync",
  );
  return row?.batch_id;
}
