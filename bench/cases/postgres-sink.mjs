// PostgreSQL sink (issue 12): 100K behavioral events written through the postgres sink (DuckDB CSV ->
// COPY into a TEMP staging table -> INSERT ... ON CONFLICT (id) DO UPDATE -> _sluice_batches, one
// transaction), against a bare COPY of the same rows through pg-copy-streams (DuckDB writes the same CSV,
// streamed into COPY ... FROM STDIN of an empty table), measured in the same run. Two sink writes: into a
// new table (every row inserted, the table created) and the same rows again as a new batch (every row an
// update). Best of three interleaved rounds. PostgreSQL as in postgres.mjs ($SLUICE_BENCH_PG_URL, the
// local server, else embedded).
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { postgresSinkSpec } from "../../dist/config/spec.js";
import { csvExpr, pgTypeOf } from "../../dist/connectors/postgres/load-table.js";
import { Engine } from "../../dist/engine/engine.js";
import { PostgresSink } from "../../dist/sinks/postgres/postgres-sink.js";
import { generateDataset } from "../../dist/sources/generate/generate-dataset.js";
import { silentLogger } from "../../dist/util/logger.js";
import { benchPostgres, query } from "./postgres.mjs";

const ROWS = 100_000;
const SCHEMA = "sluice_bench_sink";
const ROUNDS = 3;

/** The reference: DuckDB writes the CSV, pg-copy-streams streams it into COPY FROM STDIN. */
async function bareCopy(url, engine, relation, table, dir) {
  const cols = await engine.columns(relation);
  const file = join(dir, "bare.csv");
  const name = `"${SCHEMA}"."${table}"`;
  await query(url, `DROP TABLE IF EXISTS ${name}`);
  await query(url, `CREATE TABLE ${name} (${cols.map((c) => `"${c.name}" ${pgTypeOf(c.type)}`).join(", ")})`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const t0 = performance.now();
    await engine.run(
      `COPY (SELECT ${cols.map((c) => csvExpr(c.name, c.type)).join(", ")} FROM ${relation}) TO '${file}' (FORMAT csv, HEADER false)`,
    );
    const copy = client.query(copyFrom(`COPY ${name} FROM STDIN WITH (FORMAT csv, HEADER false)`));
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), copy);
    return { seconds: (performance.now() - t0) / 1000, rows: copy.rowCount };
  } finally {
    await client.end();
  }
}

async function sinkWrite(url, engine, relation, table, batchId) {
  let n = 0;
  const ctx = {
    runId: `bench-${batchId}`,
    engine,
    dataDir: tmpdir(),
    configDir: tmpdir(),
    warehousePath: join(tmpdir(), "unused.duckdb"),
    startedAt: new Date(),
    log: silentLogger(),
    tmpName: (p) => `${p}_${++n}`,
  };
  const sink = new PostgresSink(
    postgresSinkSpec.parse({ type: "postgres", url, schema: SCHEMA, table, mode: "upsert", key: ["id"] }),
  );
  const t0 = performance.now();
  const out = await sink.write(ctx, relation, { extent: "append", batchId }, []);
  const seconds = (performance.now() - t0) / 1000;
  if (out.status !== "written" || out.rows !== ROWS) throw new Error(`sink wrote ${JSON.stringify(out)}`);
  return { seconds };
}

export default {
  name: "postgres sink: 100K rows COPY + upsert (new table; all updates) vs bare COPY",
  target: "report (no target set)",
  async run() {
    const server = await benchPostgres();
    const engine = await Engine.open();
    const dir = mkdtempSync(join(tmpdir(), "sluice-bench-pg-sink-"));
    try {
      await query(server.url, `DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
      await query(server.url, `CREATE SCHEMA ${SCHEMA}`);
      await generateDataset(
        engine,
        { dataset: "behavioral_events", rows: ROWS, seed: 12, anchor: "2025-06-01T00:00:00Z" },
        "g",
      );
      const best = { bare: Infinity, insert: Infinity, update: Infinity };
      for (let round = 0; round < ROUNDS; round++) {
        const bare = await bareCopy(server.url, engine, "g", "bare", dir);
        if (bare.rows !== ROWS) throw new Error(`bare COPY wrote ${bare.rows} rows`);
        best.bare = Math.min(best.bare, bare.seconds);
        await query(server.url, `DROP TABLE IF EXISTS ${SCHEMA}.events, ${SCHEMA}._sluice_batches`);
        best.insert = Math.min(
          best.insert,
          (await sinkWrite(server.url, engine, "g", "events", `r${round}-a`)).seconds,
        );
        best.update = Math.min(
          best.update,
          (await sinkWrite(server.url, engine, "g", "events", `r${round}-b`)).seconds,
        );
      }
      const perSecond = (s) => Math.round(ROWS / s);
      return {
        seconds: best.insert,
        reference_seconds: best.bare,
        ratio: best.insert / best.bare,
        pass: true,
        extra: {
          rows: ROWS,
          bare_copy_rows_per_s: perSecond(best.bare),
          sink_new_table_rows_per_s: perSecond(best.insert),
          sink_all_updates_s: Number(best.update.toFixed(3)),
          sink_all_updates_rows_per_s: perSecond(best.update),
          all_updates_ratio: Number((best.update / best.bare).toFixed(2)),
        },
      };
    } finally {
      engine.close();
      rmSync(dir, { recursive: true, force: true });
      await query(server.url, `DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => undefined);
      await server.stop();
    }
  },
};
