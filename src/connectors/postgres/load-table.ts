import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { escapeIdentifier } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import { SluiceError } from "../../errors.js";
import { parsePostgresUrl } from "./connection-url.js";
import { toPgSluiceError } from "./pg-errors.js";
import { closeSession, openSession } from "./pg-session.js";

/** Options of `loadIntoPostgres`. */
export interface LoadIntoPostgresOptions {
  /**
   * What to do when the table exists: `replace` (default) drops and recreates
   * it in the load's transaction; `append` adds the rows (the table must have
   * exactly the relation's columns, else a usage error naming the difference);
   * `fail` stops with a usage error (exit 2) carrying `existsHint`.
   */
  readonly ifExists?: "replace" | "append" | "fail";
  /** Hint of the `fail` error: what the caller's user can do (e.g. the flags that allow it). */
  readonly existsHint?: string;
  /** Primary key columns; default `[id]` when the relation has an `id` column. `[]`: none. */
  readonly primaryKey?: readonly string[];
  /** Schema of the table; default the URL's ?schema=, else the first schema of the search_path. */
  readonly schema?: string;
  /** Where the intermediate CSV is written (removed afterwards); default the OS temp dir. */
  readonly tmpDir?: string;
}

/** What a load did. */
export interface LoadIntoPostgresResult {
  /** `postgres://user:***@host:5432/db public.behavioral_events` */
  readonly description: string;
  readonly rows: number;
  /** Set when the primary key could not be created (duplicate keys in the data). */
  readonly warning?: string;
}

/**
 * Loads a relation of `engine` into a PostgreSQL table with COPY FROM
 * (`sluice generate DATASET --out postgres://.../db?table=NAME`).
 *
 * DuckDB writes the relation as CSV to a temp file, which is streamed into
 * `COPY ... FROM STDIN (FORMAT csv)`: memory stays flat, rows never become JS
 * objects. The table is created with the mapped types (VARCHAR -> text,
 * TIMESTAMPTZ -> timestamptz, JSON -> jsonb, DECIMAL -> numeric, lists ->
 * arrays ...), names quoted as they are (camelCase survives), and the
 * primary key added after the rows (on `id` by default).
 *
 * Contract: all or nothing — drop, create, copy and key happen in one
 * transaction; a failure leaves the previous table (or none) in place. The
 * table name comes from `table`, else from the URL's `?table=`.
 */
export async function loadIntoPostgres(
  engine: Engine,
  relation: string,
  url: string,
  table: string | undefined,
  opts: LoadIntoPostgresOptions = {},
): Promise<LoadIntoPostgresResult> {
  const parsed = parsePostgresUrl(url, "postgres-load");
  const name = table ?? parsed.table;
  if (!name) {
    throw new SluiceError("no table to load into", {
      component: "postgres-load",
      stage: "config",
      hint: "add ?table=NAME to the URL, e.g. postgres://localhost:5432/db?table=behavioral_events",
      exitCode: 2,
    });
  }
  const dot = name.indexOf(".");
  const schema = opts.schema ?? parsed.schema ?? (dot > 0 ? name.slice(0, dot) : undefined);
  const tableName = dot > 0 && !opts.schema && !parsed.schema ? name.slice(dot + 1) : name;

  const columns = (await engine.columns(relation)).filter((c) => c.name !== "_source_pos");
  const names = new Set(columns.map((c) => c.name));
  const key = (opts.primaryKey ?? (names.has("id") ? ["id"] : [])).filter((k) => names.has(k));
  const mapped = columns.map((c) => ({ name: c.name, pgType: pgTypeOf(c.type), expr: csvExpr(c.name, c.type) }));

  const dir = mkdtempSync(join(opts.tmpDir ?? tmpdir(), "sluice-pg-load-"));
  const file = join(dir, "rows.csv");
  const errorContext = {
    component: "postgres-load",
    stage: "load",
    display: parsed.display,
    password: parsed.password,
  };
  let client: Awaited<ReturnType<typeof openSession>> | undefined;
  let label = tableName;
  try {
    await engine.run(
      `COPY (SELECT ${mapped.map((m) => m.expr).join(", ")} FROM ${relation}) TO ${literal(file)} (FORMAT csv, HEADER false)`,
      "load",
    );
    client = await openSession(parsed);
    const target = schema ? `${escapeIdentifier(schema)}.${escapeIdentifier(tableName)}` : escapeIdentifier(tableName);
    label = schema ? `${schema}.${tableName}` : tableName;
    await client.query("BEGIN");
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(schema)}`);
    const exists =
      (await client.query<{ oid: string | null }>("SELECT to_regclass($1)::oid AS oid", [target])).rows[0]?.oid != null;
    const ifExists = opts.ifExists ?? "replace";
    if (exists && ifExists === "fail") {
      throw new SluiceError(`table ${label} already exists`, {
        component: "postgres-load",
        stage: "config",
        hint: opts.existsHint ?? "drop it first, or load with ifExists: replace | append",
        exitCode: 2,
      });
    }
    if (exists && ifExists === "append") await sameColumns(client, target, label, mapped);
    const create = !exists || ifExists === "replace";
    if (exists && create) await client.query(`DROP TABLE ${target}`);
    if (create) {
      await client.query(
        `CREATE TABLE ${target} (${mapped.map((m) => `${escapeIdentifier(m.name)} ${m.pgType}`).join(", ")})`,
      );
    }
    const list = mapped.map((m) => escapeIdentifier(m.name)).join(", ");
    const copy = client.query(copyFrom(`COPY ${target} (${list}) FROM STDIN WITH (FORMAT csv, HEADER false)`));
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), copy);
    const rows = copy.rowCount;
    let warning: string | undefined;
    if (create && key.length) {
      await client.query("SAVEPOINT key");
      try {
        await client.query(`ALTER TABLE ${target} ADD PRIMARY KEY (${key.map(escapeIdentifier).join(", ")})`);
      } catch (err) {
        if ((err as { code?: string }).code !== "23505") throw err;
        await client.query("ROLLBACK TO SAVEPOINT key");
        warning = `no primary key on ${label}: ${key.join(", ")} has duplicate values`;
      }
    }
    await client.query("COMMIT");
    await client.query(`ANALYZE ${target}`);
    return { description: `${parsed.display} ${label}`, rows, ...(warning ? { warning } : {}) };
  } catch (err) {
    if (client) await client.query("ROLLBACK").catch(() => undefined);
    throw toPgSluiceError(err, { ...errorContext, doing: `loading ${label} into` });
  } finally {
    if (client) await closeSession(client);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `append`: the existing table must have exactly the loaded columns (names as they are, any order). */
async function sameColumns(
  client: Awaited<ReturnType<typeof openSession>>,
  target: string,
  label: string,
  loaded: readonly { name: string }[],
): Promise<void> {
  const r = await client.query<{ name: string }>(
    "SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
    [target],
  );
  const have = new Set(r.rows.map((c) => c.name));
  const want = new Set(loaded.map((c) => c.name));
  const missing = [...want].filter((n) => !have.has(n));
  const extra = [...have].filter((n) => !want.has(n));
  if (missing.length === 0 && extra.length === 0) return;
  const parts = [
    ...(missing.length ? [`it lacks ${missing.map((n) => `"${n}"`).join(", ")}`] : []),
    ...(extra.length ? [`it has ${extra.map((n) => `"${n}"`).join(", ")} the rows do not`] : []),
  ];
  throw new SluiceError(`cannot append to ${label}: its columns differ (${parts.join("; ")})`, {
    component: "postgres-load",
    stage: "config",
    hint: "append into a table with the same columns, or replace the table",
    exitCode: 2,
  });
}

const SCALAR_PG: Record<string, string> = {
  VARCHAR: "text",
  BIGINT: "bigint",
  INTEGER: "integer",
  SMALLINT: "smallint",
  TINYINT: "smallint",
  UTINYINT: "smallint",
  USMALLINT: "integer",
  UINTEGER: "bigint",
  UBIGINT: "numeric(20)",
  HUGEINT: "numeric(39)",
  UHUGEINT: "numeric(39)",
  DOUBLE: "double precision",
  FLOAT: "real",
  BOOLEAN: "boolean",
  DATE: "date",
  TIMESTAMP: "timestamp",
  TIMESTAMP_S: "timestamp",
  TIMESTAMP_MS: "timestamp",
  TIMESTAMP_NS: "timestamp",
  "TIMESTAMP WITH TIME ZONE": "timestamptz",
  TIME: "time",
  "TIME WITH TIME ZONE": "timetz",
  INTERVAL: "interval",
  UUID: "uuid",
  JSON: "jsonb",
  BLOB: "bytea",
};

/** The PostgreSQL type a DuckDB column is created as. */
export function pgTypeOf(duckType: string): string {
  const scalar = SCALAR_PG[duckType];
  if (scalar) return scalar;
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(duckType);
  if (decimal) return `numeric(${decimal[1]},${decimal[2]})`;
  const list = /^(.+)\[\]$/.exec(duckType);
  if (list) {
    const elem = SCALAR_PG[list[1]!];
    return elem && elem !== "jsonb" && elem !== "bytea" ? `${elem}[]` : "jsonb";
  }
  if (/^(STRUCT|MAP)\b/.test(duckType) || duckType.endsWith("]")) return "jsonb";
  if (duckType.startsWith("ENUM")) return "text";
  return "text";
}

/** The DuckDB expression whose CSV text PostgreSQL's input function of `pgTypeOf(type)` accepts. */
export function csvExpr(name: string, duckType: string): string {
  const c = ident(name);
  const pgType = pgTypeOf(duckType);
  if (pgType === "bytea") return `'\\x' || lower(hex(${c}))`;
  if (pgType.endsWith("[]")) {
    // PostgreSQL array literal: every element double-quoted with \ and " escaped, NULL bare.
    return `'{' || array_to_string(list_transform(${c}, lambda x: CASE WHEN x IS NULL THEN 'NULL' ELSE '"' || replace(replace(CAST(x AS VARCHAR), '\\', '\\\\'), '"', '\\"') || '"' END), ',') || '}'`;
  }
  if (pgType === "jsonb" && duckType !== "JSON") return `CAST(to_json(${c}) AS VARCHAR)`;
  return c;
}
