import { join } from "node:path";
import type pg from "pg";
import { escapeIdentifier } from "pg";
import { keySetSql } from "../../engine/key-set-sql.js";
import { ident } from "../../engine/sql.js";
import type { KeyProbe, SinkContext } from "../sink.js";
import { copyIntoStaging, copyOut, readCopiedCsv } from "./pg-copy.js";
import { duckTypeOfPg, pgName, readTarget } from "./pg-target.js";

/**
 * The target's rows as a table in the run's engine (merge/eager dedup compares against it), or
 * undefined when the table does not exist. With `probe`, only the rows with one of the batch's
 * keys: the keys are COPYed into a temp table and joined there, so a batch costs what it touches,
 * not the table's size. Rows travel as COPY CSV read by DuckDB's read_csv, never as JS objects.
 */
export async function readExisting(
  ctx: SinkContext,
  client: pg.Client,
  schema: string,
  table: string,
  dir: string,
  probe: KeyProbe | undefined,
): Promise<string | undefined> {
  const target = await readTarget(client, schema, table);
  if (!target) return undefined;
  const name = pgName(schema, table);
  const columns = target.map((t) => ({ name: t.name, type: duckTypeOfPg(t.type) }));
  const file = join(dir, "existing.csv");
  const byName = new Map(target.map((t) => [t.name, t]));
  const key = probe?.key.filter((k) => byName.has(k)) ?? [];
  if (probe && key.length === probe.key.length && key.length > 0) {
    const probeTypes = new Map((await ctx.engine.columns(probe.relation)).map((c) => [c.name, c.type]));
    const keyColumns = key.map((k) => ({ name: k, type: probeTypes.get(k) ?? "VARCHAR" }));
    await client.query("BEGIN");
    try {
      await copyIntoStaging(
        client,
        ctx.engine,
        keySetSql(probe.relation, key),
        keyColumns,
        [],
        "sluice_keys",
        join(dir, "keys.csv"),
      );
      // The keys compare as the table types them (a key read as text matches an integer column).
      const match = key
        .map((k) => `t.${escapeIdentifier(k)} = CAST(k.${escapeIdentifier(k)} AS ${byName.get(k)!.type})`)
        .join(" AND ");
      await copyOut(
        client,
        `SELECT t.* FROM ${name} t WHERE EXISTS (SELECT 1 FROM sluice_keys k WHERE ${match})`,
        file,
      );
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  } else {
    await copyOut(client, `SELECT * FROM ${name}`, file);
  }
  const copy = ctx.tmpName("existing");
  await ctx.engine.run(`CREATE TABLE ${ident(copy)} AS SELECT * FROM ${readCopiedCsv(file, columns)}`, "dedup");
  return ident(copy);
}
