import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { deltaScanSql, readDeltaSnapshot } from "../src/lake/delta/index.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "./support/postgres.js";
import { holdWarehouse, release } from "./support/warehouse-holder.js";

/**
 * Exactly once per sink (SPEC section 8), attacked for real: incremental PostgreSQL runs stopped at
 * every boundary of the batch's life (SIGKILL, a terminal failure, retries exhausted) through the
 * runner's failpoints, then rerun until they succeed. After every recovery each sink — snapshot,
 * partitioned, DuckDB table — holds each source row exactly once (merge: each key once, latest).
 */
const BOUNDARIES = [
  "after:extract",
  "after:intent",
  "after:transform",
  "after:validate",
  "after:dedup",
  "after:lineage",
  "after:stage",
  "after:sink:0",
  "after:sink:1",
  "after:write",
  "after:metrics",
  "after:quarantine",
  "after:record",
];
const ACTIONS = ["kill", "fail", "transient"] as const;

let pg: TestPostgres;
let schema: TestSchema;
let nextId = 0;

beforeAll(async () => {
  pg = await testPostgres();
  schema = await testSchema(pg.url, "exactly_once");
});
afterAll(async () => {
  await schema?.drop();
  await pg?.stop();
});

function config(table: string, dedup: string, onError: "warn" | "fail" = "fail"): string {
  return `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: postgres, url: "${schema.url}", table: ${table}, cursor: updated, mode: incremental }
    validation: quarantine
    contract:
      columns:
        id: { type: string, required: true }
        v: { type: integer, min: 0 }
        updated: { type: timestamp, required: true }
    dedup: ${dedup}
    retries: { attempts: 2, backoff_seconds: 0 }
    sinks:
      - { type: parquet, path: raw/events }
      - { type: parquet, path: lake/events, layout: partitioned, time_column: updated }
      - { type: duckdb, schema: research, table: events, mode: table, on_error: ${onError} }
`;
}

/**
 * Inserts `n` new rows (the first fails the contract: quarantined) and, for merge, updates two
 * earlier ones; cursor values grow with the round, as an application's `updated` column does.
 */
async function produce(table: string, n: number, round: number, update: boolean): Promise<void> {
  const day = `'2026-01-01T00:00:00Z'::timestamptz + ${round} * interval '1 day'`;
  for (let i = 0; i < n; i++) {
    await sql(pg.url, `INSERT INTO "${schema.name}".${table} VALUES ($1, $2, ${day} + $3 * interval '1 second')`, [
      `r${nextId++}`,
      i === 0 ? -1 : Math.floor(round),
      nextId,
    ]);
  }
  if (update) {
    await sql(
      pg.url,
      `UPDATE "${schema.name}".${table} SET v = v + 1000, updated = ${day} + interval '12 hours' WHERE id IN (SELECT id FROM "${schema.name}".${table} WHERE v >= 0 ORDER BY id LIMIT 2 OFFSET ${round})`,
    );
  }
}

/** Rows each sink holds: total, distinct ids, and the ids with their v. */
async function sinkRows(dir: string, hive = true): Promise<Record<string, { n: number; ids: number; sum: number }>> {
  const data = join(dir, "data");
  const one = async (from: string, before = "") => {
    const [r] = await duckQuery<{ n: bigint; ids: bigint; sum: bigint | null }>(
      `${before}SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(v)::BIGINT AS sum FROM ${from}`,
    );
    return { n: Number(r!.n), ids: Number(r!.ids), sum: Number(r!.sum ?? 0) };
  };
  return {
    snapshot: await one(`'${data}/raw/events/events_latest.parquet'`),
    ...(hive
      ? { partitioned: await one(`read_parquet('${data}/lake/events/**/*.parquet', hive_partitioning = true)`) }
      : {}),
    warehouse: await one(`w.research.events`, `ATTACH '${data}/duckdb/analytics.duckdb' AS w (READ_ONLY); `),
  };
}

/** What the source holds that a sink must: valid rows, their ids and v. */
async function expected(table: string): Promise<{ n: number; ids: number; sum: number }> {
  const [r] = await sql<{ n: string; sum: string | null }>(
    pg.url,
    `SELECT count(*) AS n, sum(v) AS sum FROM "${schema.name}".${table} WHERE v >= 0`,
  );
  return { n: Number(r!.n), ids: Number(r!.n), sum: Number(r!.sum ?? 0) };
}

async function runUntilSuccess(dir: string): Promise<RunRecord> {
  for (let i = 0; i < 4; i++) {
    const r = await runCli(["run", "--json"], { cwd: dir });
    if (r.code === 0) return JSON.parse(r.stdout) as RunRecord;
  }
  throw new Error("no successful run in 4 tries");
}

describe.each([
  ["none", "{ strategy: none }"],
  ["bronze_append", "{ strategy: bronze_append, key: [id] }"],
  ["merge", "{ strategy: merge, key: [id], order_by: updated }"],
])("exactly once, dedup %s: interrupted at every boundary, then rerun", (name, dedup) => {
  it("every sink holds each source row once, and all sinks agree", async () => {
    const table = `events_${name}`;
    await sql(
      pg.url,
      `CREATE TABLE "${schema.name}".${table} (id text PRIMARY KEY, v integer NOT NULL, updated timestamptz NOT NULL)`,
    );
    const dir = projectDir(config(table, dedup));
    const merge = name === "merge";
    for (const [round, point] of BOUNDARIES.entries()) {
      await produce(table, 6, round, merge);
      const action = ACTIONS[round % ACTIONS.length]!;
      const broken = await runCli(["run", "--json"], { cwd: dir, env: { SLUICE_FAILPOINTS: `${point}=${action}` } });
      expect(broken.code, `${point}=${action}`).not.toBe(0);
      if (round % 4 === 3) await produce(table, 3, round + 0.5, false); // rows arriving before the repair
      const ok = await runUntilSuccess(dir);
      expect(ok.sinks_disagree, point).toBeUndefined();

      const want = await expected(table);
      const held = await sinkRows(dir);
      for (const [sink, got] of Object.entries(held)) {
        // Each valid source row once (merge: each key once, with its latest v), in every sink.
        expect(got, `${name} ${point}=${action}: ${sink}`).toEqual(want);
      }
    }
  });
});

describe("one run per pipeline", () => {
  it("of two runs started together one runs, the other exits at once naming it; outputs equal one run's", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 300000, seed: 4 }
    validation: "off"
    sinks:
      - { type: parquet, path: lake/events, layout: partitioned, time_column: timestamp }
`);
    writeFileSync(join(dir, ".keep"), "");
    const [a, b] = await Promise.all([
      runCli(["run", "--json"], { cwd: dir }),
      runCli(["run", "--json"], { cwd: dir }),
    ]);
    const codes = [a.code, b.code].sort();
    expect(codes).toEqual([0, 1]);
    const loser = a.code === 0 ? b : a;
    const winner = JSON.parse((a.code === 0 ? a : b).stdout) as RunRecord;
    expect(loser.stderr).toMatch(
      new RegExp(`pipeline \`events\` is already running: run ${winner.run_id} \\(run, pid \\d+ on .+, started `),
    );
    const [n] = await duckQuery<{ n: bigint }>(
      `SELECT count(*) AS n FROM read_parquet('${join(dir, "data", "lake", "events")}/**/*.parquet')`,
    );
    expect(Number(n!.n)).toBe(300000);
    const runs = JSON.parse((await runCli(["runs", "events", "--json"], { cwd: dir })).stdout) as RunRecord[];
    expect(runs.map((r) => r.run_id)).toEqual([winner.run_id]);
  });
});

describe("a locked warehouse during an incremental run", () => {
  const holders: ChildProcess[] = [];
  afterEach(() => {
    for (const h of holders.splice(0)) h.kill("SIGKILL");
  });

  it("on_error warn: the lake takes the batch, the sinks disagree and the batch stays pending; the next run repairs the warehouse", async () => {
    const table = "events_locked_warn";
    await sql(
      pg.url,
      `CREATE TABLE "${schema.name}".${table} (id text PRIMARY KEY, v integer NOT NULL, updated timestamptz NOT NULL)`,
    );
    const dir = projectDir(config(table, "{ strategy: none }", "warn"));
    await produce(table, 6, 0, false);
    expect((await runUntilSuccess(dir)).sinks_disagree).toBeUndefined();

    await produce(table, 6, 1, false);
    const holder = await holdWarehouse(dir);
    holders.push(holder);
    const locked = await runUntilSuccess(dir);
    expect(locked.sinks_disagree).toEqual({ batch_id: locked.batch_id, missing: ["duckdb:research.events"] });
    const state = JSON.parse(readFileSync(join(dir, "data", "state", "events.json"), "utf8"));
    expect(state.pending).toMatchObject({ batch_id: locked.batch_id, run_id: locked.run_id });
    await release(holder);

    const repaired = await runCli(["run", "--json"], { cwd: dir });
    expect(repaired.code, repaired.stderr).toBe(0);
    const runs = JSON.parse((await runCli(["runs", "events", "--json"], { cwd: dir })).stdout) as RunRecord[];
    const finishing = runs.find((r) => r.batch_id === locked.batch_id && r.run_id !== locked.run_id)!;
    expect(finishing.commits?.map((c) => `${c.sink} ${c.status}`)).toEqual([
      "parquet:raw/events held",
      "parquet:lake/events held",
      "duckdb:research.events written",
    ]);
    const want = await expected(table);
    for (const [sink, got] of Object.entries(await sinkRows(dir))) expect(got, sink).toEqual(want);
  });

  it("on_error fail: retries exhausted on the lock, then a rerun: each row once in every sink", async () => {
    const table = "events_locked_fail";
    await sql(
      pg.url,
      `CREATE TABLE "${schema.name}".${table} (id text PRIMARY KEY, v integer NOT NULL, updated timestamptz NOT NULL)`,
    );
    const dir = projectDir(config(table, "{ strategy: bronze_append, key: [id] }", "fail"));
    await produce(table, 6, 0, false);
    await runUntilSuccess(dir);
    await produce(table, 6, 1, false);
    const holder = await holdWarehouse(dir);
    holders.push(holder);
    const locked = await runCli(["run", "--json"], { cwd: dir });
    expect(locked.code).toBe(1);
    expect((JSON.parse(locked.stdout) as RunRecord).attempts).toBe(2);
    await release(holder);
    await runUntilSuccess(dir);
    const want = await expected(table);
    for (const [sink, got] of Object.entries(await sinkRows(dir))) expect(got, sink).toEqual(want);
  });
});

describe("exactly once into a Delta table (format: delta), interrupted, then rerun", () => {
  it("the table holds each source row once; a retried batch is held by its txn", async () => {
    const table = "events_delta";
    await sql(
      pg.url,
      `CREATE TABLE "${schema.name}".${table} (id text PRIMARY KEY, v integer NOT NULL, updated timestamptz NOT NULL)`,
    );
    const dir = projectDir(
      config(table, "{ strategy: none }").replace(
        "{ type: parquet, path: lake/events, layout: partitioned, time_column: updated }",
        "{ type: parquet, path: lake/events, layout: partitioned, format: delta, time_column: updated }",
      ),
    );
    const points = ["after:intent", "after:sink:0", "after:sink:1", "after:write", "after:record"];
    for (const [round, point] of points.entries()) {
      await produce(table, 6, round, false);
      const action = ACTIONS[round % ACTIONS.length]!;
      const broken = await runCli(["run", "--json"], { cwd: dir, env: { SLUICE_FAILPOINTS: `${point}=${action}` } });
      expect(broken.code, `${point}=${action}`).not.toBe(0);
      await runUntilSuccess(dir);
      const want = await expected(table);
      const root = join(dir, "data", "lake", "events");
      const [got] = await duckQuery<{ n: bigint; ids: bigint; sum: bigint | null }>(
        `SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(v)::BIGINT AS sum FROM ${deltaScanSql(await readDeltaSnapshot(root))}`,
      );
      expect({ n: Number(got!.n), ids: Number(got!.ids), sum: Number(got!.sum ?? 0) }, `${point}=${action}`).toEqual(
        want,
      );
      const held = await sinkRows(dir, false);
      expect(held.snapshot, point).toEqual(want);
      expect(held.warehouse, point).toEqual(want);
    }
  });
});
