import { join } from "node:path";
import type pg from "pg";
import { escapeLiteral } from "pg";
import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import type { SinkContext, SinkOutput } from "../sink.js";
import { copyIntoStaging, copyOut } from "./pg-copy.js";
import type { BatchColumn } from "./pg-target.js";
import { pgName } from "./pg-target.js";

/**
 * `<schema>._sluice_rejected` keeps the rows a table refused, per (table, batch), written in the
 * transaction that commits the batch: a process killed after that COMMIT and before the plan kept
 * its dead letters finds them here when the re-run reports `held`, so sink rows + dead letters stay
 * the batch exactly. Each row is the record as DuckDB JSON and the database's message.
 */
export const REJECTED_TABLE = "_sluice_rejected";

const STAGING = "_sluice_rejected_staging";

/** Inserts the refused rows of batch `batchId` (inside the caller's transaction). */
export async function keepRejected(
  client: pg.Client,
  engine: Engine,
  target: { schema: string; table: string; batchId: string },
  rejected: NonNullable<SinkOutput["rejected"]>,
  columns: readonly BatchColumn[],
  dir: string,
): Promise<void> {
  const name = pgName(target.schema, REJECTED_TABLE);
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`sluice:${name}`]);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${name} (
       table_name text NOT NULL, batch_id text NOT NULL, record text NOT NULL, error text)`,
  );
  const record = `to_json(struct_pack(${columns.map((c) => `${ident(c.name)} := ${ident(c.name)}`).join(", ")}))::VARCHAR`;
  const from = `(SELECT ${record} AS record, _error AS error FROM ${rejected.relation})`;
  const text = [
    { name: "record", type: "VARCHAR" },
    { name: "error", type: "VARCHAR" },
  ];
  await copyIntoStaging(client, engine, from, text, [], STAGING, join(dir, "rejected.csv"));
  await client.query(
    `INSERT INTO ${name} (table_name, batch_id, record, error) SELECT $1, $2, record, error FROM ${STAGING}`,
    [target.table, target.batchId],
  );
}

/**
 * The rows kept for a batch the table holds, as a relation of the run's engine with the batch's
 * `columns` (their DuckDB types) and `_error`; undefined when it refused none.
 */
export async function heldRejected(
  ctx: SinkContext,
  client: pg.Client,
  target: { schema: string; table: string; batchId: string },
  columns: readonly BatchColumn[],
  dir: string,
): Promise<SinkOutput["rejected"]> {
  const name = pgName(target.schema, REJECTED_TABLE);
  const exists = await client.query<{ oid: string | null }>("SELECT to_regclass($1)::oid AS oid", [name]);
  if (exists.rows[0]?.oid == null) return undefined;
  const file = join(dir, "held-rejected.csv");
  await copyOut(
    client,
    `SELECT record, error FROM ${name} WHERE table_name = ${escapeLiteral(target.table)} AND batch_id = ${escapeLiteral(target.batchId)}`,
    file,
  );
  const shape = literal(JSON.stringify(Object.fromEntries(columns.map((c) => [c.name, c.type]))));
  const relation = ident(ctx.tmpName("pg_rejected"));
  await ctx.engine.run(
    `CREATE TABLE ${relation} AS SELECT unnest(from_json(record, ${shape})), error AS _error
       FROM read_csv(${literal(file)}, columns = {'record': 'VARCHAR', 'error': 'VARCHAR'}, header = false, auto_detect = false)`,
    "sink",
  );
  const rows = await ctx.engine.count(relation);
  return rows > 0 ? { relation, rows } : undefined;
}
