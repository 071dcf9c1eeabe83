import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

/**
 * Replay is a driver like `sluice run`: its batch has a fixed id (from the quarantine file it
 * reads), so a replay stopped at any boundary and then replayed again lands each row once per sink.
 */
const yaml = (kinds: string) => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    contract:
      columns:
        id: { type: string, required: true }
        kind: { type: string, enum: [${kinds}] }
    validation: quarantine
    retries: { attempts: 2, backoff_seconds: 0 }
    sinks:
      - { type: parquet, path: raw/events }
      - { type: parquet, path: lake/events, layout: partitioned, partition_by: [kind] }
      - { type: duckdb, schema: research, table: events, mode: table }
`;

const POINTS = [
  "after:extract",
  "after:validate",
  "after:stage",
  "after:sink:0",
  "after:sink:1",
  "after:write",
  "after:quarantine",
  "after:record",
];
const ACTIONS = ["kill", "fail", "transient"] as const;

async function counts(dir: string): Promise<Record<string, { n: number; ids: number }>> {
  const data = join(dir, "data");
  const one = async (from: string, before = "") => {
    const [r] = await duckQuery<{ n: bigint; ids: bigint }>(
      `${before}SELECT count(*) AS n, count(DISTINCT id) AS ids FROM ${from}`,
    );
    return { n: Number(r!.n), ids: Number(r!.ids) };
  };
  return {
    snapshot: await one(`'${data}/raw/events/events_latest.parquet'`),
    partitioned: await one(`read_parquet('${data}/lake/events/**/*.parquet')`),
    warehouse: await one("w.research.events", `ATTACH '${data}/duckdb/analytics.duckdb' AS w (READ_ONLY); `),
  };
}

describe("replay, interrupted at every boundary, then replayed again", () => {
  it("writes each replayed row once in every sink", async () => {
    for (const [i, point] of POINTS.entries()) {
      const dir = projectDir(yaml("click"));
      const lines = Array.from({ length: 20 }, (_, k) =>
        JSON.stringify({ id: `e${k}`, kind: k % 4 === 0 ? "tap" : "click" }),
      );
      writeFileSync(join(dir, "events.jsonl"), `${lines.join("\n")}\n`);
      const first = JSON.parse((await runCli(["run", "--json"], { cwd: dir })).stdout) as RunRecord;
      expect(first.rows).toMatchObject({ valid: 15, quarantined: 5 });

      writeFileSync(join(dir, "sluice.yaml"), yaml("click, tap"));
      const action = ACTIONS[i % ACTIONS.length]!;
      const broken = await runCli(["replay", "events", "--run", first.run_id], {
        cwd: dir,
        env: { SLUICE_FAILPOINTS: `${point}=${action}` },
      });
      expect(broken.code, `${point}=${action}`).not.toBe(0);
      const ok = await runCli(["replay", "events", "--run", first.run_id], { cwd: dir });
      if (point === "after:quarantine" || point === "after:record") {
        // Stopped after its commit: every row passed, so the quarantine file is already gone.
        expect(ok.stderr).toMatch(/has no quarantined rows/);
      } else {
        expect(ok.code, `${point}=${action}: ${ok.stderr}`).toBe(0);
      }
      for (const [sink, got] of Object.entries(await counts(dir))) {
        expect(got, `${point}=${action}: ${sink}`).toEqual({ n: 20, ids: 20 });
      }
    }
  });
});
