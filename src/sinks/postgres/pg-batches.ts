import type pg from "pg";
import { pgName } from "./pg-target.js";

/**
 * The PostgreSQL half of the commit protocol (docs/ARCHITECTURE.md), like the warehouse's:
 * `<schema>._sluice_batches` holds one row per (table, batch) committed into a table of that
 * schema, inserted in the same transaction as the batch's rows, so the table holds a batch exactly
 * when this says so. `seq` orders the commits: the newest row names the table's last batch.
 */
export const BATCHES_TABLE = "_sluice_batches";

/** Creates `<schema>._sluice_batches` when missing (inside the caller's transaction). */
export async function ensureBatchesTable(client: pg.Client, schema: string): Promise<void> {
  const name = pgName(schema, BATCHES_TABLE);
  if (await exists(client, name)) return;
  // Two writers of different tables in one schema may both find it missing: one creates it.
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`sluice:${name}`]);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${name} (
       table_name text NOT NULL, batch_id text NOT NULL, run_id text NOT NULL,
       committed_at timestamptz NOT NULL DEFAULT now(), seq bigserial NOT NULL,
       PRIMARY KEY (table_name, batch_id))`,
  );
}

/** Records `batchId` for `table` (inside the caller's transaction). */
export async function recordBatch(
  client: pg.Client,
  schema: string,
  table: string,
  batchId: string,
  runId: string,
): Promise<void> {
  await client.query(
    `INSERT INTO ${pgName(schema, BATCHES_TABLE)} (table_name, batch_id, run_id) VALUES ($1, $2, $3)`,
    [table, batchId, runId],
  );
}

/** Whether `table` holds batch `batchId`. */
export async function holdsBatch(client: pg.Client, schema: string, table: string, batchId: string): Promise<boolean> {
  const name = pgName(schema, BATCHES_TABLE);
  if (!(await exists(client, name))) return false;
  const r = await client.query(`SELECT 1 FROM ${name} WHERE table_name = $1 AND batch_id = $2`, [table, batchId]);
  return (r.rowCount ?? 0) > 0;
}

/** The last batch committed into `table` (undefined: none). */
export async function lastBatch(client: pg.Client, schema: string, table: string): Promise<string | undefined> {
  const name = pgName(schema, BATCHES_TABLE);
  if (!(await exists(client, name))) return undefined;
  const r = await client.query<{ batch_id: string }>(
    `SELECT batch_id FROM ${name} WHERE table_name = $1 ORDER BY seq DESC LIMIT 1`,
    [table],
  );
  return r.rows[0]?.batch_id;
}

async function exists(client: pg.Client, name: string): Promise<boolean> {
  const r = await client.query<{ oid: string | null }>("SELECT to_regclass($1)::oid AS oid", [name]);
  return r.rows[0]?.oid != null;
}
