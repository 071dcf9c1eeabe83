import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

// The lake is readable without sluice: the Delta log replayed by the protocol alone (the newest
// checkpoint, then the JSON commits after it) and every live data file read with another Parquet
// reader (hyparquet, pure JavaScript) give the rows `sluice query` gives.
const yaml = `version: 1
data_dir: ./data
pipelines:
  orders:
    source: { type: file, path: in/batch.parquet }
    validation: "off"
    dedup: { strategy: merge, key: [id], order_by: updated_at }
    sinks:
      - { type: parquet, path: lake/orders, layout: partitioned, format: delta, time_column: ts }
      - { type: duckdb, schema: shop, table: orders, mode: table }
`;

/** Batch `n`: at 0, ids 1..100 over four days; then 3 newer versions of earlier ids and 2 new ids. */
function batchSql(n: number): string {
  const row = (id: string, amount: string) =>
    `SELECT ${id}::BIGINT AS id, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_hours((${id}) % 96) AS ts,
       (${amount})::DOUBLE AS amount, TIMESTAMPTZ '2026-02-01 00:00:00+00' + to_hours(${n}) AS updated_at`;
  if (n === 0) return `${row("r", "r")} FROM range(1, 101) t(r)`;
  return `${row(`r * 7 + ${n}`, `r * 1000 + ${n}`)} FROM range(3) t(r) UNION ALL ${row(`100 + ${n} * 2 + r`, "r + 0.5")} FROM range(2) t(r)`;
}

type Action = { add?: FileAction | null; remove?: { path: string } | null };
type FileAction = { path: string; partitionValues: unknown };

/** Partition values as a plain object, however the reader returns a map. */
function values(map: unknown): Record<string, string | null> {
  if (Array.isArray(map))
    return Object.fromEntries(map.map((e: { key: string; value: string | null }) => [e.key, e.value]));
  return (map ?? {}) as Record<string, string | null>;
}

/** Replays `_delta_log` by the protocol: the newest checkpoint (read with hyparquet), then JSON commits. */
async function liveFiles(log: string): Promise<Map<string, Record<string, string | null>>> {
  const live = new Map<string, Record<string, string | null>>();
  const last = JSON.parse(readFileSync(join(log, "_last_checkpoint"), "utf8")) as { version: number };
  const cp = join(log, `${String(last.version).padStart(20, "0")}.checkpoint.parquet`);
  const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(cp), columns: ["add"] })) as Action[];
  for (const r of rows) if (r.add) live.set(r.add.path, values(r.add.partitionValues));
  const commits = readdirSync(log)
    .filter((n) => /^\d{20}\.json$/.test(n) && Number(n.slice(0, 20)) > last.version)
    .sort();
  for (const name of commits) {
    for (const line of readFileSync(join(log, name), "utf8").split("\n")) {
      if (!line) continue;
      const a = JSON.parse(line) as Action;
      if (a.add) live.set(a.add.path, values(a.add.partitionValues));
      if (a.remove) live.delete(a.remove.path);
    }
  }
  return live;
}

describe("a Delta table sluice wrote, read without sluice", () => {
  it("the protocol's replay (checkpoint + commits) and another Parquet reader give the rows sluice query gives", async () => {
    const dir = projectDir(yaml);
    mkdirSync(join(dir, "in"));
    for (let n = 0; n < 12; n++) {
      await duckQuery(`COPY (${batchSql(n)}) TO '${join(dir, "in", "batch.parquet")}' (FORMAT parquet)`);
      const r = await runCli(["run"], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    }
    const compacted = await runCli(["compact", "orders"], { cwd: dir });
    expect(compacted.code, compacted.stderr).toBe(0);

    const root = join(dir, "data", "lake", "orders");
    const live = await liveFiles(join(root, "_delta_log"));
    const independent: string[] = [];
    for (const [path, partition] of live) {
      const file = await asyncBufferFromFile(join(root, decodeURIComponent(path)));
      const rows = (await parquetReadObjects({ file, columns: ["id", "amount"] })) as { id: bigint; amount: number }[];
      for (const r of rows) independent.push(`${r.id}:${r.amount}:${partition.event_date}`);
    }
    const q = await runCli(
      ["query", "--delta", "o=data/lake/orders", "SELECT id, amount, event_date FROM o", "--format", "json"],
      { cwd: dir },
    );
    expect(q.code, q.stderr).toBe(0);
    const bySluice = (JSON.parse(q.stdout) as { id: number; amount: number; event_date: string }[]).map(
      (r) => `${r.id}:${r.amount}:${r.event_date}`,
    );
    expect(independent.sort()).toEqual(bySluice.sort());
    expect(bySluice).toHaveLength(122);
    // id 16: 2002 at batch 2, then 1009 at batch 9 (newer).
    expect(bySluice).toContain("16:1009:2026-01-01");
  });
});
