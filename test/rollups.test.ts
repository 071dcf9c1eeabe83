import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

const DAILY =
  "SELECT CAST(ts AS DATE) AS day, kind, count(*) AS n, sum(amount) AS total FROM research.events GROUP BY ALL";

function project(): string {
  const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: "in/*.jsonl", files: new }
    validation: "off"
    sinks:
      - { type: duckdb, schema: research, table: events, mode: table }
  other:
    source: { type: file, path: other.jsonl }
    validation: "off"
    sinks:
      - { type: duckdb, schema: research, table: other, mode: table }
rollups:
  daily:
    sql: "${DAILY}"
  kinds:
    sql: SELECT kind, count(DISTINCT user_id) AS users FROM research.events GROUP BY kind
    after: [events]
    schema: dash
    table: kinds_by_users
  hourly_cap:
    sql: SELECT count(*) AS n FROM research.events
    after: [events]
    min_interval_seconds: 3600
`);
  mkdirSync(join(dir, "in"));
  writeFileSync(join(dir, "other.jsonl"), `${JSON.stringify({ x: 1 })}\n`);
  return dir;
}

function batch(dir: string, name: string, from: number, count: number): void {
  const kinds = ["view", "click", "buy"];
  const lines = Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return JSON.stringify({
      id: n,
      user_id: `u${n % 7}`,
      kind: kinds[n % 3],
      amount: (n % 11) * 1.5,
      ts: `2026-03-0${1 + (n % 4)}T${String(n % 24).padStart(2, "0")}:00:00Z`,
    });
  });
  writeFileSync(join(dir, "in", name), `${lines.join("\n")}\n`);
}

async function run(dir: string, pipeline: string): Promise<RunRecord> {
  const r = await runCli(["run", pipeline, "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord;
}

describe("rollups", () => {
  it("are refreshed after each successful run and equal the same query over the raw table", async () => {
    const dir = project();
    const warehouse = join(dir, "data", "duckdb", "analytics.duckdb");
    const same = async (rollup: string, query: string) => {
      const diff = await duckQuery<{ n: bigint }>(
        `ATTACH '${warehouse}' AS w (READ_ONLY); USE w;
         SELECT (SELECT count(*) FROM ((${query}) EXCEPT ALL (SELECT * FROM ${rollup}))) +
                (SELECT count(*) FROM ((SELECT * FROM ${rollup}) EXCEPT ALL (${query}))) AS n`,
      );
      expect(Number(diff[0]!.n)).toBe(0);
      return Number(
        (
          await duckQuery<{ n: bigint }>(
            `ATTACH '${warehouse}' AS w (READ_ONLY); SELECT count(*) AS n FROM w.${rollup}`,
          )
        )[0]!.n,
      );
    };

    batch(dir, "a.jsonl", 0, 500);
    const first = await run(dir, "events");
    expect(first.rollups?.map((r) => [r.name, r.table, r.skipped ?? "refreshed"])).toEqual([
      ["daily", "main.daily", "refreshed"],
      ["kinds", "dash.kinds_by_users", "refreshed"],
      ["hourly_cap", "main.hourly_cap", "refreshed"],
    ]);
    expect(first.rollups![0]!.rows).toBe(await same("main.daily", DAILY));
    expect(first.rollups![0]!.ms).toBeGreaterThanOrEqual(0);

    batch(dir, "b.jsonl", 500, 700);
    const second = await run(dir, "events");
    expect(second.rows.written).toBe(700);
    expect(await same("main.daily", DAILY)).toBe(12);
    expect(
      await same(
        "dash.kinds_by_users",
        "SELECT kind, count(DISTINCT user_id) AS users FROM research.events GROUP BY kind",
      ),
    ).toBe(3);
    const totals = await duckQuery<{ n: bigint; total: number }>(
      `ATTACH '${warehouse}' AS w (READ_ONLY); SELECT sum(n)::BIGINT AS n, sum(total) AS total FROM w.main.daily`,
    );
    expect(Number(totals[0]!.n)).toBe(1200);
    // min_interval_seconds: refreshed by the first run, skipped by the second (an hour has not passed).
    expect(second.rollups?.find((r) => r.name === "hourly_cap")?.skipped).toMatch(/min_interval_seconds 3600/);
    const capped = await duckQuery<{ n: bigint }>(
      `ATTACH '${warehouse}' AS w (READ_ONLY); SELECT n FROM w.main.hourly_cap`,
    );
    expect(Number(capped[0]!.n)).toBe(500);

    // A pipeline the rollups do not read refreshes none of them.
    const other = await run(dir, "other");
    expect(other.rollups).toBeUndefined();
    // The refresh is in the ledger's record too.
    const shown = JSON.parse(
      (await runCli(["runs", "show", second.run_id, "--json"], { cwd: dir })).stdout,
    ) as RunRecord;
    expect(shown.rollups).toEqual(second.rollups);
  }, 120_000);

  it("a rollup whose SQL fails is a warning in the record; the run still succeeds", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    sinks:
      - { type: duckdb, schema: research, table: events, mode: table }
rollups:
  broken:
    sql: SELECT no_such_column FROM research.events
`);
    writeFileSync(join(dir, "events.jsonl"), `${JSON.stringify({ id: 1 })}\n`);
    const record = await run(dir, "events");
    expect(record.status).toBe("succeeded");
    expect(record.rollups?.[0]?.skipped).toMatch(/no_such_column/);
    expect(record.warnings.join("\n")).toMatch(/rollup broken not refreshed/);
  }, 60_000);
});
