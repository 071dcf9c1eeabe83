import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { escapeIdentifier } from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { csvExpr, pgTypeOf } from "../../connectors/postgres/load-table.js";
import type { Engine } from "../../engine/engine.js";
import { ident, literal } from "../../engine/sql.js";
import type { SinkContext } from "../sink.js";
import type { BatchColumn } from "./pg-target.js";

/**
 * A folder for the CSV files of one write: inside the attempt's scratch folder when there is one
 * (`<data_dir>/.tmp/<run_id>`, swept after a kill), else the OS temp folder. The caller removes it.
 */
export function copyDir(ctx: SinkContext): string {
  const scratch = join(ctx.dataDir, ".tmp", ctx.runId);
  if (existsSync(scratch)) return mkdtempSync(join(scratch, "pg-sink-"));
  mkdirSync(tmpdir(), { recursive: true });
  return mkdtempSync(join(tmpdir(), "sluice-pg-sink-"));
}

/**
 * Copies `select`'s rows (DuckDB SQL over `columns`, plus any `extra` integer columns first) into
 * a new TEMP table `staging` of the session, dropped at the transaction's end: DuckDB writes the
 * CSV (columnar, no row reaches JavaScript), the file is streamed into `COPY ... FROM STDIN`.
 * Returns the rows copied.
 */
export async function copyIntoStaging(
  client: pg.Client,
  engine: Engine,
  from: string,
  columns: readonly BatchColumn[],
  extra: readonly string[],
  staging: string,
  file: string,
): Promise<number> {
  const exprs = [...extra.map(ident), ...columns.map((c) => csvExpr(c.name, c.type))];
  await engine.run(
    `COPY (SELECT ${exprs.join(", ")} FROM ${from}) TO ${literal(file)} (FORMAT csv, HEADER false)`,
    "sink",
  );
  const defs = [
    ...extra.map((e) => `${escapeIdentifier(e)} bigint`),
    ...columns.map((c) => `${escapeIdentifier(c.name)} ${pgTypeOf(c.type)}`),
  ];
  await client.query(`CREATE TEMP TABLE ${escapeIdentifier(staging)} (${defs.join(", ")}) ON COMMIT DROP`);
  const list = [...extra, ...columns.map((c) => c.name)].map(escapeIdentifier).join(", ");
  const copy = client.query(
    copyFrom(`COPY ${escapeIdentifier(staging)} (${list}) FROM STDIN WITH (FORMAT csv, HEADER false)`),
  );
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), copy);
  return copy.rowCount;
}

/** Streams `COPY (query) TO STDOUT (FORMAT csv)` into `file`. */
export async function copyOut(client: pg.Client, query: string, file: string): Promise<void> {
  const out = client.query(copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT csv, HEADER false)`));
  await pipeline(out, createWriteStream(file, { highWaterMark: 1 << 20 }));
}

/**
 * `read_csv` of a file PostgreSQL's COPY wrote, as `columns` typed: every field read as text (an
 * unquoted empty field is NULL, a quoted one an empty string), then cast; booleans are `t`/`f`.
 */
export function readCopiedCsv(file: string, columns: readonly BatchColumn[]): string {
  const spec = columns.map((c) => `${literal(c.name)}: 'VARCHAR'`).join(", ");
  const exprs = columns.map((c) => {
    const col = ident(c.name);
    const value = c.type === "BOOLEAN" ? `(${col} = 't')` : `CAST(${col} AS ${c.type})`;
    return `${value} AS ${col}`;
  });
  return `(SELECT ${exprs.join(", ")} FROM read_csv(${literal(file)}, columns = {${spec}}, header = false, auto_detect = false, allow_quoted_nulls = false))`;
}
