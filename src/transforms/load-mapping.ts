import { createWriteStream, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, isAbsolute, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { ident, literal } from "../engine/sql.js";
import { SluiceError } from "../errors.js";
import { removeQuietly } from "../util/atomic.js";
import { redactSecrets } from "../util/redact.js";
import { firstLine, requireColumn, transformConfigError } from "./columns.js";
import type { TransformContext, TransformOf } from "./transform.js";

export type MappingFrom = TransformOf<"map">["from"];

/** A mapping loaded into the engine: one row per key. */
export interface Mapping {
  /** Table with columns `k` (VARCHAR, unique, never NULL) and `v` (the value column's type). */
  readonly table: string;
  readonly keys: number;
  /** Rows of the mapping whose key repeated an earlier row's key (ignored: the first row wins). */
  readonly duplicateKeys: number;
  readonly description: string;
}

/**
 * Loads a mapping table into the engine from a file (CSV/TSV, JSONL/JSON,
 * Parquet; path relative to the config directory) or a PostgreSQL table
 * (COPY ... TO STDOUT as CSV into a temporary file read by DuckDB; URL from
 * `postgres` or $DATABASE_URL).
 *
 * Keys are compared as text; rows with a NULL key are ignored, and a key
 * that repeats keeps the value of its first row (in file or table order), so
 * a mapping can never multiply rows of the batch. CSV and PostgreSQL values
 * are text; JSON and Parquet values keep their type.
 */
export async function loadMapping(ctx: TransformContext, from: MappingFrom): Promise<Mapping> {
  if ("file" in from) return loadFile(ctx, from);
  return loadPostgres(ctx, from);
}

async function loadFile(ctx: TransformContext, from: Extract<MappingFrom, { file: string }>): Promise<Mapping> {
  const path = isAbsolute(from.file) ? from.file : resolve(ctx.configDir, from.file);
  const reader = fileReader(path);
  const raw = ctx.tmpName("map_raw");
  try {
    await ctx.engine.run(`CREATE TEMP VIEW ${raw} AS SELECT * FROM ${reader}`, "transform");
  } catch (err) {
    throw new SluiceError(`map.from.file: cannot read ${path}: ${firstLine(err)}`, {
      component: "transform",
      stage: "transform",
      hint: "check the path (relative to the config file) and that the file is CSV with a header, JSONL or Parquet",
      exitCode: 2,
      cause: err,
    });
  }
  const columns = (await ctx.engine.columns(raw)).map((c) => c.name);
  requireColumn(columns, from.key, "map.from.key");
  requireColumn(columns, from.value, "map.from.value");
  return dedupe(ctx, raw, from.key, from.value, from.file);
}

function fileReader(path: string): string {
  const ext = extname(path).toLowerCase();
  const p = literal(path);
  if (ext === ".csv") return `read_csv(${p}, header = true, all_varchar = true)`;
  if (ext === ".tsv") return `read_csv(${p}, header = true, all_varchar = true, delim = '\t')`;
  if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") return `read_json(${p})`;
  if (ext === ".parquet") return `read_parquet(${p})`;
  throw transformConfigError(
    `map.from.file: cannot tell the format of ${path} from its extension`,
    "use a .csv, .tsv, .jsonl, .ndjson, .json or .parquet file",
  );
}

async function loadPostgres(ctx: TransformContext, from: Extract<MappingFrom, { table: string }>): Promise<Mapping> {
  const rawUrl = from.postgres ?? process.env.DATABASE_URL;
  if (!rawUrl) {
    throw transformConfigError(
      "map.from: no PostgreSQL URL",
      "set `postgres: postgres://user@host:5432/db` on the map step, or export DATABASE_URL",
    );
  }
  const { url, schema } = splitSchemaParam(rawUrl);
  const where = `${redactSecrets(url)} table ${from.table}`;
  // Loaded here, not at the top: only runs with a PostgreSQL mapping pay for the driver.
  const [{ default: driver }, { to: copyTo }] = await Promise.all([import("pg"), import("pg-copy-streams")]);
  const client = new driver.Client({ connectionString: url });
  const dir = mkdtempSync(join(tmpdir(), "sluice-map-"));
  const csv = join(dir, "mapping.csv");
  try {
    await client.connect();
    const table = qualifiedTable(client, from.table, schema);
    const sql =
      `COPY (SELECT ${client.escapeIdentifier(from.key)}::text AS k, ${client.escapeIdentifier(from.value)}::text AS v ` +
      `FROM ${table}) TO STDOUT WITH (FORMAT csv, HEADER true)`;
    await pipeline(client.query(copyTo(sql)), createWriteStream(csv));
    const raw = ctx.tmpName("map_raw");
    await ctx.engine.run(
      `CREATE TEMP TABLE ${raw} AS SELECT * FROM read_csv(${literal(csv)}, header = true, auto_detect = false, ` +
        `columns = {'k': 'VARCHAR', 'v': 'VARCHAR'}, allow_quoted_nulls = false)`,
      "transform",
    );
    return await dedupe(ctx, raw, "k", "v", `PostgreSQL ${where}`);
  } catch (err) {
    throw postgresError(err, where);
  } finally {
    await client.end().catch(() => undefined);
    removeQuietly(dir);
  }
}

/** Keeps the first row per non-NULL key, as a table (k VARCHAR, v). */
async function dedupe(
  ctx: TransformContext,
  raw: string,
  key: string,
  value: string,
  description: string,
): Promise<Mapping> {
  const table = ctx.tmpName("map");
  await ctx.engine.run(
    `CREATE TEMP TABLE ${table} AS SELECT k, first(v ORDER BY rn) AS v, count(*) AS n FROM (` +
      `SELECT CAST(${ident(key)} AS VARCHAR) AS k, ${ident(value)} AS v, row_number() OVER () AS rn FROM ${raw}` +
      `) WHERE k IS NOT NULL GROUP BY k`,
    "transform",
  );
  const row = await ctx.engine.one<{ keys: bigint; dups: bigint | null }>(
    `SELECT count(*) AS keys, sum(n - 1) AS dups FROM ${table}`,
    "transform",
  );
  await ctx.engine.run(`ALTER TABLE ${table} DROP COLUMN n`, "transform");
  return { table, keys: Number(row?.keys ?? 0), duplicateKeys: Number(row?.dups ?? 0), description };
}

/** Removes an ORM-style `?schema=name` parameter (pg does not know it) and returns it. */
function splitSchemaParam(raw: string): { url: string; schema: string | undefined } {
  try {
    const u = new URL(raw);
    const schema = u.searchParams.get("schema") ?? undefined;
    u.searchParams.delete("schema");
    return { url: u.toString(), schema };
  } catch {
    return { url: raw, schema: undefined };
  }
}

/** `name` or `schema.name` as a quoted PostgreSQL name; the URL's schema applies to an unqualified name. */
function qualifiedTable(client: pg.Client, table: string, schema: string | undefined): string {
  const parts = table.split(".");
  if (parts.length === 2) return parts.map((p) => client.escapeIdentifier(p)).join(".");
  const name = client.escapeIdentifier(table);
  return schema ? `${client.escapeIdentifier(schema)}.${name}` : name;
}

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "57P01",
  "57P03",
  "40001",
  "53300",
]);

function postgresError(err: unknown, where: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const code = (err as { code?: string }).code ?? "";
  const message = redactSecrets(firstLine(err));
  if (code === "42P01" || code === "3F000") {
    return new SluiceError(`map.from: ${message} (${where})`, {
      component: "transform",
      stage: "transform",
      hint: "check `table` (use schema.table for another schema) and the database in the URL",
      cause: err,
    });
  }
  if (code === "42703") {
    return new SluiceError(`map.from: ${message} (${where})`, {
      component: "transform",
      stage: "transform",
      hint: "`key` and `value` name columns of the mapping table (case-sensitive)",
      cause: err,
    });
  }
  return new SluiceError(`map.from: cannot read the mapping from ${where}: ${message}`, {
    component: "transform",
    stage: "transform",
    hint: "check that PostgreSQL is reachable and the user may read the table",
    transient: TRANSIENT_CODES.has(code),
    cause: err,
  });
}
