import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readDeltaSnapshot } from "../src/lake/delta/index.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { holdWarehouse, release } from "./support/warehouse-holder.js";

// Merge dedup into a Delta table and a warehouse table: each batch changes what changed (the Delta
// files holding its keys, the warehouse rows of its keys), and the two stay equal.
const yaml = `version: 1
data_dir: ./data
pipelines:
  orders:
    source: { type: file, path: in/batch.parquet }
    validation: "off"
    dedup: { strategy: merge, key: [id], order_by: updated_at }
    sinks:
      - { type: parquet, path: lake/orders, layout: partitioned, format: delta, time_column: ts }
      - { type: duckdb, schema: shop, table: orders, mode: table, indexes: [[id]] }
`;

const holders: ReturnType<typeof holdWarehouse>[] = [];
afterEach(async () => {
  for (const h of holders.splice(0)) (await h).kill("SIGKILL");
});

/** Writes the batch file: rows of `select` (columns id, ts, amount, updated_at). */
async function batch(dir: string, select: string): Promise<void> {
  mkdirSync(join(dir, "in"), { recursive: true });
  await duckQuery(`COPY (${select}) TO '${join(dir, "in", "batch.parquet")}' (FORMAT parquet)`);
}

const base = `SELECT r::BIGINT AS id, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_hours(r::BIGINT) AS ts,
  r * 1.0 AS amount, TIMESTAMPTZ '2026-02-01 00:00:00+00' AS updated_at FROM range(1, 301) t(r)`;

async function run(dir: string): Promise<RunRecord> {
  const r = await runCli(["run", "--json"], { cwd: dir });
  expect(r.code, `${r.stderr}${r.stdout}`).toBe(0);
  return JSON.parse(r.stdout) as RunRecord;
}

/** The lake's rows (latest version) and the warehouse's, each as sorted "id:amount" strings. */
async function both(dir: string): Promise<{ lake: string[]; warehouse: string[] }> {
  const lake = await runCli(
    ["query", "--delta", "o=data/lake/orders", "SELECT id, amount FROM o ORDER BY id", "--format", "json"],
    { cwd: dir },
  );
  const wh = await runCli(["query", "SELECT id, amount FROM shop.orders ORDER BY id", "--format", "json"], {
    cwd: dir,
  });
  const fmt = (out: string) => (JSON.parse(out) as { id: number; amount: number }[]).map((r) => `${r.id}:${r.amount}`);
  return { lake: fmt(lake.stdout), warehouse: fmt(wh.stdout) };
}

describe("merge into a Delta table and a warehouse table", () => {
  it("a batch of changes rewrites only the lake files holding its keys and upserts the warehouse rows; both agree", async () => {
    const dir = projectDir(yaml);
    await batch(dir, base);
    const first = await run(dir);
    expect(first.outputs.map((o) => [o.status, o.rows])).toEqual([
      ["written", 300],
      ["written", 300],
    ]);
    const root = join(dir, "data", "lake", "orders");
    const before = await readDeltaSnapshot(root);

    // 10 newer versions of ids 291..300 (the last day), 5 new ids, 3 rows identical to the table's.
    await batch(
      dir,
      `SELECT r::BIGINT AS id, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_hours(r::BIGINT) AS ts, r * 10.0 AS amount,
         TIMESTAMPTZ '2026-02-02 00:00:00+00' AS updated_at FROM range(291, 306) t(r)
       UNION ALL SELECT * FROM (${base}) WHERE id <= 3`,
    );
    const second = await run(dir);
    expect(second.rows.keys).toEqual({ new: 5, changed: 10, unchanged: 3 });
    expect(second.rows.dataset).toBe(305);
    expect(second.outputs.map((o) => [o.status, o.rows])).toEqual([
      ["written", 15],
      ["written", 15],
    ]);
    const after = await readDeltaSnapshot(root);
    expect(after.commitInfo).toMatchObject({ operation: "MERGE", sluiceRunId: second.run_id });
    // Only files holding ids 291..300 were replaced: every other file of version 0 is still live.
    const kept = before.files.filter((f) => after.files.some((g) => g.path === f.path));
    expect(kept.length).toBe(before.files.length - 1);
    const { lake, warehouse } = await both(dir);
    expect(lake).toHaveLength(305);
    expect(lake).toEqual(warehouse);
    expect(lake.filter((r) => r.startsWith("295:") || r.startsWith("1:") || r.startsWith("305:"))).toEqual([
      "1:1",
      "295:2950",
      "305:3050",
    ]);
    const [idx] = await duckQuery<{ n: bigint }>(
      `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
       SELECT count(*) AS n FROM duckdb_indexes() WHERE database_name = 'w' AND table_name = 'orders'`,
    );
    expect(idx?.n).toBe(1n);
  });

  it("a warehouse that missed a batch (locked: skipped) takes the whole dataset on the next run and agrees again", async () => {
    const dir = projectDir(yaml);
    await batch(dir, base);
    await run(dir);
    const holder = holdWarehouse(dir);
    holders.push(holder);
    await holder;
    await batch(
      dir,
      `SELECT id, ts, amount + 1000 AS amount, updated_at + INTERVAL 1 DAY AS updated_at FROM (${base}) WHERE id <= 5`,
    );
    const skipped = await run(dir);
    expect(skipped.outputs.map((o) => o.status)).toEqual(["written", "skipped"]);
    await release(await holder);

    await batch(
      dir,
      `SELECT id, ts, amount + 2000 AS amount, updated_at + INTERVAL 2 DAY AS updated_at FROM (${base}) WHERE id = 300`,
    );
    const next = await run(dir);
    expect(next.outputs.map((o) => o.status)).toEqual(["written", "written"]);
    const { lake, warehouse } = await both(dir);
    expect(warehouse).toEqual(lake);
    expect(lake.slice(0, 5)).toEqual(["1:1001", "2:1002", "3:1003", "4:1004", "5:1005"]);
    expect(lake.at(-1)).toBe("300:2300");
  });

  it("eager: only keys the table lacks are appended (one commit of new files, nothing rewritten), in both sinks", async () => {
    const dir = projectDir(
      yaml.replace("{ strategy: merge, key: [id], order_by: updated_at }", "{ strategy: eager, key: [id] }"),
    );
    await batch(dir, base);
    await run(dir);
    const root = join(dir, "data", "lake", "orders");
    const before = await readDeltaSnapshot(root);
    await batch(
      dir,
      `SELECT id, ts, amount + 1 AS amount, updated_at FROM (${base}) WHERE id > 290 UNION ALL SELECT id + 10, ts, amount, updated_at FROM (${base}) WHERE id > 295`,
    );
    const second = await run(dir);
    expect(second.rows.keys).toEqual({ new: 5, changed: 0, unchanged: 10 });
    expect(second.outputs.map((o) => [o.status, o.rows])).toEqual([
      ["written", 5],
      ["written", 5],
    ]);
    const after = await readDeltaSnapshot(root);
    expect(after.files.filter((f) => before.files.some((g) => g.path === f.path))).toHaveLength(before.files.length);
    const { lake, warehouse } = await both(dir);
    expect(lake).toHaveLength(305);
    expect(lake).toEqual(warehouse);
    expect(lake).toContain("291:291");
  });
});
