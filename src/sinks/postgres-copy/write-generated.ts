import { parsePostgresUrl } from "../../connectors/postgres/connection-url.js";
import { loadIntoPostgres } from "../../connectors/postgres/load-table.js";
import type { Engine } from "../../engine/engine.js";

/** A generated dataset to write (see GeneratedOutputWriter in sources/generate/generated-output.ts). */
export interface GeneratedRequest {
  readonly engine: Engine;
  /** A SELECT over the engine, valid during the call, and the dataset it generates. */
  readonly query: { readonly sql: string; readonly dataset: { readonly name: string } };
  readonly target: string;
  readonly ifExists?: "fail" | "replace" | "append";
}

/**
 * `sluice generate DATASET --out postgres://user:pw@host:5432/db?table=NAME[&schema=S]`:
 * loads the generated rows with COPY FROM (see loadIntoPostgres: the table is
 * created with the dataset's types, camelCase names kept, primary key on `id`,
 * in one transaction). The table name defaults to the dataset's name.
 * An existing table is left alone (usage error, exit 2) unless `ifExists` is
 * `replace` (dropped and recreated) or `append` (same columns required).
 */
export async function writeGenerated({
  engine,
  query,
  target,
  ifExists = "fail",
}: GeneratedRequest): Promise<{ location: string; format: string; rows: number }> {
  const table = parsePostgresUrl(target, "generate").table ?? query.dataset.name;
  const result = await loadIntoPostgres(engine, `(${query.sql})`, target, table, {
    ifExists,
    existsHint:
      "sluice generate does not overwrite a table: pass --replace to drop and recreate it, or --append to add the rows (same columns)",
  });
  if (result.warning) process.stderr.write(`warning: ${result.warning}\n`);
  return { location: result.description, format: "postgres", rows: result.rows };
}
