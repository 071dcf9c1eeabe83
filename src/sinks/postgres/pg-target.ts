import type pg from "pg";
import { escapeIdentifier } from "pg";
import { pgTypeOf } from "../../connectors/postgres/load-table.js";

/** A column of the target table as the catalog defines it: what the DuckDB-side checks compare against. */
export interface TargetColumn {
  readonly name: string;
  /** `format_type`: `character varying(5)`, `numeric(10,2)`, `timestamp with time zone` ... */
  readonly type: string;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
}

/** A batch column: its name and DuckDB type. */
export interface BatchColumn {
  readonly name: string;
  readonly type: string;
}

/** `"schema"."table"` for PostgreSQL. */
export function pgName(schema: string, table: string): string {
  return `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`;
}

/** The target's columns in order, or undefined when the table does not exist. */
export async function readTarget(
  client: pg.Client,
  schema: string,
  table: string,
): Promise<TargetColumn[] | undefined> {
  const exists = await client.query<{ oid: string | null }>("SELECT to_regclass($1)::oid AS oid", [
    pgName(schema, table),
  ]);
  if (exists.rows[0]?.oid == null) return undefined;
  const r = await client.query<{ name: string; type: string; not_null: boolean; has_default: boolean }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS not_null, atthasdef AS has_default
       FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [pgName(schema, table)],
  );
  return r.rows.map((c) => ({ name: c.name, type: c.type, notNull: c.not_null, hasDefault: c.has_default }));
}

/** Creates the target from the batch's DuckDB types, with a primary key on `key` when given. */
export async function createTarget(
  client: pg.Client,
  name: string,
  columns: readonly BatchColumn[],
  key: readonly string[] | undefined,
): Promise<void> {
  const defs = columns.map((c) => `${escapeIdentifier(c.name)} ${pgTypeOf(c.type)}`);
  if (key?.length) defs.push(`PRIMARY KEY (${key.map(escapeIdentifier).join(", ")})`);
  await client.query(`CREATE TABLE ${name} (${defs.join(", ")})`);
}

/** Batch columns the table lacks are added (NULL in the rows already there); returns their names. */
export async function addMissingColumns(
  client: pg.Client,
  name: string,
  target: readonly TargetColumn[],
  columns: readonly BatchColumn[],
): Promise<string[]> {
  const have = new Set(target.map((c) => c.name));
  const added = columns.filter((c) => !have.has(c.name));
  for (const c of added) {
    await client.query(`ALTER TABLE ${name} ADD COLUMN ${escapeIdentifier(c.name)} ${pgTypeOf(c.type)}`);
  }
  return added.map((c) => c.name);
}

/** Whether a unique index (or primary key) of the table covers exactly the `key` columns. */
export async function hasUniqueOn(client: pg.Client, name: string, key: readonly string[]): Promise<boolean> {
  const r = await client.query<{ cols: string[] }>(
    `SELECT array_agg(a.attname ORDER BY a.attname)::text[] AS cols
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid`,
    [name],
  );
  const want = [...key].sort().join("\u0000");
  return r.rows.some((row) => [...row.cols].sort().join("\u0000") === want);
}

/**
 * The DuckDB type a PostgreSQL column is read back as (existing rows for dedup): the reverse of
 * `pgTypeOf` for the types it creates, VARCHAR for anything else (the text COPY writes).
 */
export function duckTypeOfPg(pgType: string): string {
  const t = pgType.toLowerCase();
  const simple: Record<string, string> = {
    bigint: "BIGINT",
    integer: "INTEGER",
    smallint: "SMALLINT",
    "double precision": "DOUBLE",
    real: "FLOAT",
    boolean: "BOOLEAN",
    date: "DATE",
    "timestamp with time zone": "TIMESTAMPTZ",
    "timestamp without time zone": "TIMESTAMP",
    jsonb: "JSON",
    json: "JSON",
    uuid: "UUID",
    interval: "INTERVAL",
    "time without time zone": "TIME",
  };
  if (simple[t]) return simple[t];
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(t);
  if (numeric && Number(numeric[1]) <= 38) return `DECIMAL(${numeric[1]},${numeric[2]})`;
  if (t === "numeric") return "DOUBLE";
  return "VARCHAR";
}
