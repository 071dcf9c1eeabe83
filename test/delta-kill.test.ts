import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deltaScanSql, readDeltaSnapshot } from "../src/lake/delta/index.js";
import { CLI, projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "./support/postgres.js";

/**
 * SIGKILL at random moments of a run (SPEC section 8, issue "lake tables"): incremental PostgreSQL
 * batches appended (dedup none) or merged (dedup merge: every round also updates earlier rows) into
 * a Delta table and a warehouse table, each run killed after a random delay. After every kill the
 * table opens at a committed version holding only rows of batches whose txn it committed, each id
 * once; the next run succeeds and both sinks equal the source. `SLUICE_KILL_ROUNDS` (default 4;
 * `npm run test:long` runs 20) sets the rounds per mode; the seed is printed to replay a failure.
 */
const ROUNDS = Number(process.env.SLUICE_KILL_ROUNDS ?? 4);
const SEED = Number(process.env.SLUICE_KILL_SEED ?? Date.now() % 100000);

let pg: TestPostgres;
let schema: TestSchema;
beforeAll(async () => {
  pg = await testPostgres();
  schema = await testSchema(pg.url, "delta_kill");
});
afterAll(async () => {
  await schema?.drop();
  await pg?.stop();
});

/** mulberry32: a small seeded PRNG, so a failing sequence of delays can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function config(table: string, dedup: string): string {
  return `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: postgres, url: "${schema.url}", table: ${table}, cursor: updated, mode: incremental }
    validation: "off"
    dedup: ${dedup}
    retries: { attempts: 1, backoff_seconds: 0 }
    sinks:
      - { type: parquet, path: lake/events, layout: partitioned, format: delta, time_column: updated }
      - { type: duckdb, schema: research, table: events, mode: table }
`;
}

/** Runs the CLI and SIGKILLs it after `ms` unless it exits first; says whether it was killed. */
function runKilledAfter(dir: string, ms: number): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, "run"], { cwd: dir, stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("exit", (_code, signal) => {
      clearTimeout(timer);
      done(signal === "SIGKILL");
    });
  });
}

interface Held {
  n: number;
  ids: number;
  sum: number;
}

async function source(table: string): Promise<Held> {
  const [r] = await sql<{ n: string; sum: string | null }>(
    pg.url,
    `SELECT count(*) AS n, sum(v) AS sum FROM "${schema.name}".${table}`,
  );
  return { n: Number(r!.n), ids: Number(r!.n), sum: Number(r!.sum ?? 0) };
}

/** The table at its latest version: its counts, and the batches of its rows the log has no txn for. */
async function lake(dir: string): Promise<Held & { uncommitted: string[] }> {
  const snapshot = await readDeltaSnapshot(join(dir, "data", "lake", "events"));
  const scan = deltaScanSql(snapshot);
  const [r] = await duckQuery<{ n: bigint; ids: bigint; sum: bigint | null }>(
    `SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(v)::BIGINT AS sum FROM ${scan}`,
  );
  const batches = await duckQuery<{ b: string }>(`SELECT DISTINCT _batch_id AS b FROM ${scan}`);
  const uncommitted = batches.map((x) => x.b).filter((b) => snapshot.txns[`sluice:${b}`] === undefined);
  return { n: Number(r!.n), ids: Number(r!.ids), sum: Number(r!.sum ?? 0), uncommitted };
}

async function warehouse(dir: string): Promise<Held> {
  const [r] = await duckQuery<{ n: bigint; ids: bigint; sum: bigint | null }>(
    `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
     SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(v)::BIGINT AS sum FROM w.research.events`,
  );
  return { n: Number(r!.n), ids: Number(r!.ids), sum: Number(r!.sum ?? 0) };
}

describe.each([
  ["append", "{ strategy: none }"],
  ["merge", "{ strategy: merge, key: [id], order_by: updated }"],
])("Delta + warehouse, %s batches killed at random moments", (mode, dedup) => {
  it(`${ROUNDS} rounds: the table always opens at a committed version; the next run makes both sinks equal the source`, async () => {
    const table = `kill_${mode}`;
    await sql(
      pg.url,
      `CREATE TABLE "${schema.name}".${table} (id text PRIMARY KEY, v integer NOT NULL, updated timestamptz NOT NULL)`,
    );
    const dir = projectDir(config(table, dedup));
    const next = random(SEED + (mode === "merge" ? 1 : 0));
    // A first batch, timed: kill delays spread over the length of a whole run (node start included).
    await sql(pg.url, `INSERT INTO "${schema.name}".${table} VALUES ('first', 1, '2025-12-31T00:00:00Z')`);
    const started = Date.now();
    expect((await runCli(["run"], { cwd: dir })).code).toBe(0);
    const runMs = Date.now() - started;
    let killed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const at = `'2026-01-01T00:00:00Z'::timestamptz + ${round} * interval '1 day'`;
      await sql(
        pg.url,
        `INSERT INTO "${schema.name}".${table} SELECT 'r' || ${round} || '_' || i, i, ${at} + i * interval '1 minute' FROM generate_series(1, 50) i`,
      );
      if (mode === "merge" && round > 0) {
        await sql(
          pg.url,
          `UPDATE "${schema.name}".${table} SET v = v + 1000, updated = ${at} + interval '2 hours' WHERE id IN ('r0_${round}', 'r${round - 1}_1', 'r${round - 1}_2')`,
        );
      }
      const delay = Math.floor(30 + next() * runMs * 1.1);
      const context = `seed ${SEED}, round ${round}, killed after ${delay} ms`;
      if (await runKilledAfter(dir, delay)) killed++;
      const opened = await lake(dir);
      expect(opened.uncommitted, context).toEqual([]);
      expect(opened.ids, context).toBe(opened.n);
      const r = await runCli(["run"], { cwd: dir });
      expect(r.code, `${context}: ${r.stderr}`).toBe(0);
      const want = await source(table);
      const { uncommitted: _u, ...got } = await lake(dir);
      expect(got, context).toEqual(want);
      expect(await warehouse(dir), context).toEqual(want);
    }
    console.log(`delta kill loop (${mode}): ${killed} of ${ROUNDS} runs killed mid-run, seed ${SEED}`);
    expect(killed).toBeGreaterThan(0);
  });
});

describe("Delta + warehouse merge, interrupted at every boundary of the commit", () => {
  it("a retry finishes the batch in the sink that lacks it; each key once, latest, in both", async () => {
    const table = "kill_points";
    await sql(
      pg.url,
      `CREATE TABLE "${schema.name}".${table} (id text PRIMARY KEY, v integer NOT NULL, updated timestamptz NOT NULL)`,
    );
    const dir = projectDir(config(table, "{ strategy: merge, key: [id], order_by: updated }"));
    const points = ["after:intent", "after:dedup", "after:stage", "after:sink:0", "after:sink:1", "after:record"];
    for (const [round, point] of points.entries()) {
      const at = `'2026-01-01T00:00:00Z'::timestamptz + ${round} * interval '1 day'`;
      await sql(
        pg.url,
        `INSERT INTO "${schema.name}".${table} SELECT 'p' || ${round} || '_' || i, i, ${at} + i * interval '1 minute' FROM generate_series(1, 20) i`,
      );
      if (round > 0) {
        await sql(
          pg.url,
          `UPDATE "${schema.name}".${table} SET v = v + 100, updated = ${at} + interval '2 hours' WHERE id IN ('p0_${round}', 'p${round - 1}_3')`,
        );
      }
      const action = round % 2 === 0 ? "kill" : "fail";
      const broken = await runCli(["run"], { cwd: dir, env: { SLUICE_FAILPOINTS: `${point}=${action}` } });
      expect(broken.code, `${point}=${action}`).not.toBe(0);
      const r = await runCli(["run"], { cwd: dir });
      expect(r.code, `${point}: ${r.stderr}`).toBe(0);
      const want = await source(table);
      const { uncommitted: _u, ...got } = await lake(dir);
      expect(got, point).toEqual(want);
      expect(await warehouse(dir), point).toEqual(want);
    }
  });
});
