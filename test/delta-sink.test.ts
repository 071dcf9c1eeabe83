import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Engine } from "../src/engine/engine.js";
import { appendToDelta, deltaScanSql, readDeltaSnapshot } from "../src/lake/delta/index.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

const yaml = (rows: number, dedup = "{ strategy: none }") => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: ${rows}, seed: 5 }
    validation: "off"
    dedup: ${dedup}
    sinks:
      - { type: parquet, path: lake/events, layout: partitioned, format: delta, time_column: timestamp }
      - { type: duckdb, schema: research, table: events, mode: view }
`;

async function run(dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; record: RunRecord }> {
  const r = await runCli(["run", "--json"], { cwd: dir, env });
  return { code: r.code, record: JSON.parse(r.stdout) as RunRecord };
}

describe("parquet sink, format: delta", () => {
  it("writes a Delta table (one commit per batch, txn per batch) and the warehouse view reads its version", async () => {
    const dir = projectDir(yaml(2000));
    const first = await run(dir);
    expect(first.code).toBe(0);
    expect(first.record.outputs[0]).toMatchObject({ sink: "parquet:lake/events", rows: 2000, status: "written" });
    const root = join(dir, "data", "lake", "events");
    let snapshot = await readDeltaSnapshot(root);
    expect(snapshot.version).toBe(0);
    expect(snapshot.metadata.partitionColumns).toEqual(["event_date"]);
    expect(snapshot.txns[`sluice:${first.record.batch_id}`]).toMatchObject({ version: 0 });

    // A whole-dataset batch again: one commit that removes every file and adds the new ones.
    const second = await run(dir);
    snapshot = await readDeltaSnapshot(root);
    expect(snapshot.version).toBe(1);
    expect(Object.keys(snapshot.txns).sort()).toEqual(
      [`sluice:${first.record.batch_id}`, `sluice:${second.record.batch_id}`].sort(),
    );
    const q = await runCli(
      [
        "query",
        "SELECT count(*) AS n, count(DISTINCT _run_id) AS runs, min(event_date) IS NOT NULL AS dated FROM research.events",
        "--format",
        "json",
      ],
      { cwd: dir },
    );
    expect(JSON.parse(q.stdout)).toEqual([{ n: 2000, runs: 1, dated: true }]);
    // As of version 0, the first run's rows: time travel by the log, in `sluice query`.
    const v0 = await runCli(
      [
        "query",
        "--delta",
        "ev=data/lake/events@0",
        "SELECT count(*) AS n, any_value(_run_id) AS run FROM ev",
        "--format",
        "json",
      ],
      { cwd: dir },
    );
    expect(v0.code, v0.stderr).toBe(0);
    expect(JSON.parse(v0.stdout)).toEqual([{ n: 2000, run: first.record.run_id }]);
  });

  it("accepts merge into a Delta table and refuses a Delta snapshot layout, at the config's line", async () => {
    const merge = await runCli(["check"], {
      cwd: projectDir(yaml(10, "{ strategy: merge, key: [id], order_by: timestamp }")),
    });
    expect(merge.code, merge.stderr).toBe(0);
    const snapshot = await runCli(["check"], {
      cwd: projectDir(yaml(10).replace("layout: partitioned", "layout: snapshot")),
    });
    expect(snapshot.code).toBe(2);
    expect(snapshot.stderr).toMatch(/sluice\.yaml:\d+:\d+: .*`format: delta` needs `layout: partitioned`/);
  });

  it("sluice compact merges a table's small files per partition, rows unchanged; sluice vacuum deletes what no retained version needs", async () => {
    const dir = projectDir(yaml(10));
    const root = join(dir, "data", "lake", "events");
    const engine = await Engine.open();
    try {
      for (let i = 0; i < 12; i++) {
        await engine.run(
          `CREATE OR REPLACE TABLE b AS SELECT ${i * 5} + r AS id, DATE '2026-01-01' + (r % 2)::INTEGER AS event_date FROM range(5) t(r)`,
        );
        await appendToDelta(engine, root, "b", { partitionColumns: ["event_date"] });
      }
    } finally {
      engine.close();
    }
    const r = await runCli(["compact", "events", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { sink: "parquet:lake/events", version: 12, partitions: 2, filesRemoved: 24, filesAdded: 2 },
    ]);
    const snapshot = await readDeltaSnapshot(root);
    expect(snapshot.files).toHaveLength(2);
    const [row] = await duckQuery<{ n: bigint; ids: bigint }>(
      `SELECT count(*) AS n, count(DISTINCT id) AS ids FROM ${deltaScanSql(snapshot)}`,
    );
    expect(row).toEqual({ n: 60n, ids: 60n });
    const again = await runCli(["compact", "events"], { cwd: dir });
    expect(again.stdout).toContain("lake/events: nothing to compact (version 12)");

    // The compacted-away files stay for time travel until vacuum's retention says otherwise.
    const keep = await runCli(["vacuum", "events", "--json"], { cwd: dir });
    expect(JSON.parse(keep.stdout)).toMatchObject([{ sink: "parquet:lake/events", version: 12, deleted: [] }]);
    const gone = await runCli(["vacuum", "events", "--retention-hours", "0"], { cwd: dir });
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toContain("lake/events: deleted 24 files (version 12)");
    const [left] = await duckQuery<{ n: bigint }>(
      `SELECT count(*) AS n FROM ${deltaScanSql(await readDeltaSnapshot(root))}`,
    );
    expect(left).toEqual({ n: 60n });
  });
});
