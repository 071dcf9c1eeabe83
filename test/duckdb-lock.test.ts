import type { ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { holdWarehouse as holdOpen, release } from "./support/warehouse-holder.js";

const yaml = (onError: "warn" | "fail") => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 1000, seed: 11 }
    validation: "off"
    retries: { attempts: 1 }
    sinks:
      - { type: parquet, path: raw/behavioral_events }
      - type: duckdb
        schema: research
        table: behavioral_events
        mode: table
        order_by: timestamp
        on_error: ${onError}
`;

const holders: ChildProcess[] = [];
afterEach(() => {
  for (const h of holders.splice(0)) h.kill("SIGKILL");
});

async function holdWarehouse(dir: string): Promise<ChildProcess> {
  const child = await holdOpen(dir);
  holders.push(child);
  return child;
}

describe("duckdb sink when another process holds the warehouse", () => {
  it("on_error warn: the run succeeds, the record says the sync was skipped and why, the next run syncs", async () => {
    const dir = projectDir(yaml("warn"));
    const holder = await holdWarehouse(dir);

    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.status).toBe("succeeded");
    expect(record.outputs[0]).toMatchObject({ sink: "parquet:raw/behavioral_events", rows: 1000, status: "written" });
    const sync = record.outputs[1]!;
    expect(sync).toMatchObject({ sink: "duckdb:research.behavioral_events", status: "skipped", rows: 0 });
    expect(sync.warning).toContain(`locked by another process (PID ${holder.pid}`);
    expect(sync.warning).toContain("the next run will sync it");
    expect(record.warnings).toEqual([`duckdb:research.behavioral_events: ${sync.warning}`]);

    await release(holder);
    const again = await runCli(["run", "--json"], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    const synced = JSON.parse(again.stdout) as RunRecord;
    expect(synced.outputs[1]).toMatchObject({ status: "written", rows: 1000 });
    expect(synced.warnings).toEqual([]);
    const q = await runCli(
      ["query", "SELECT count(*) AS n, any_value(_run_id) AS run FROM research.behavioral_events", "--format", "json"],
      { cwd: dir },
    );
    expect(q.code, q.stderr).toBe(0);
    expect(JSON.parse(q.stdout)).toEqual([{ n: 1000, run: synced.run_id }]);
  });

  it("on_error fail: the run fails with the reason and a hint to close the other process", async () => {
    const dir = projectDir(yaml("fail"));
    const holder = await holdWarehouse(dir);
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code).toBe(1);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.status).toBe("failed");
    expect(record.error?.message).toContain(`locked by another process (PID ${holder.pid}`);
    expect(record.error?.hint).toMatch(/close the process holding the warehouse/);
  });
});
