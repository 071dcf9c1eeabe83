import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";

function project(): string {
  const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    retries: { attempts: 1, backoff_seconds: 0 }
    sinks:
      - { type: parquet, path: raw/events }
    on_success: cat > success.json; echo "$SLUICE_STATUS $SLUICE_PIPELINE $SLUICE_RUN_ID" > success.env; echo hook says hi
    on_failure: cat > failure.json; echo "could not tag the dataset" >&2; exit 3
  slow:
    source: { type: file, path: events.jsonl }
    validation: "off"
    sinks:
      - { type: parquet, path: raw/slow }
    on_success: sleep 30
    hook_timeout_seconds: 1
  bad:
    source: { type: file, path: events.jsonl }
    validation: "off"
    sinks:
      - { type: parquet, path: raw/bad }
    on_success: echo "dvc push failed" >&2; exit 7
`);
  writeFileSync(join(dir, "events.jsonl"), `${JSON.stringify({ id: 1 })}\n${JSON.stringify({ id: 2 })}\n`);
  return dir;
}

async function run(dir: string, pipeline: string, env: NodeJS.ProcessEnv = {}) {
  const r = await runCli(["run", pipeline, "--json"], { cwd: dir, env });
  return { code: r.code, stderr: r.stderr, record: JSON.parse(r.stdout) as RunRecord };
}

describe("on_success / on_failure hooks", () => {
  it("on_success gets the run record on stdin and the run's ids in its environment", async () => {
    const dir = project();
    const { code, record, stderr } = await run(dir, "events");
    expect(code).toBe(0);
    const given = JSON.parse(readFileSync(join(dir, "success.json"), "utf8")) as RunRecord;
    expect(given).toMatchObject({
      run_id: record.run_id,
      pipeline: "events",
      status: "succeeded",
      rows: { written: 2 },
    });
    // The hook runs after the state commit: the record it gets says what was written.
    expect(given.outputs[0]).toMatchObject({ rows: 2 });
    expect(given.resources?.peak_rss_bytes).toBeGreaterThan(0);
    expect(readFileSync(join(dir, "success.env"), "utf8").trim()).toBe(`succeeded events ${record.run_id}`);
    expect(record.hooks).toMatchObject([{ event: "on_success", exit_code: 0 }]);
    expect(record.warnings).toEqual([]);
    expect(stderr).toContain("on_success: hook says hi");
    const saved = JSON.parse(
      (await runCli(["runs", "show", record.run_id, "--json"], { cwd: dir })).stdout,
    ) as RunRecord;
    expect(saved.hooks).toEqual(record.hooks);
  }, 60_000);

  it("a failing hook is a warning with its exit code and stderr; the run's status stays", async () => {
    const dir = project();
    const { code, record } = await run(dir, "events", { SLUICE_FAILPOINTS: "after:extract=fail" });
    expect(code).toBe(1);
    expect(record.status).toBe("failed");
    expect(JSON.parse(readFileSync(join(dir, "failure.json"), "utf8"))).toMatchObject({ status: "failed" });
    expect(record.hooks).toMatchObject([{ event: "on_failure", exit_code: 3 }]);
    expect(record.warnings).toContain(
      "on_failure hook exited with code 3 (the run's status stays failed): could not tag the dataset",
    );

    const bad = await run(dir, "bad");
    expect(bad.code).toBe(0);
    expect(bad.record.status).toBe("succeeded");
    expect(bad.record.warnings).toEqual([
      "on_success hook exited with code 7 (the run's status stays succeeded): dvc push failed",
    ]);

    const slow = await run(dir, "slow");
    expect(slow.code).toBe(0);
    expect(slow.record.status).toBe("succeeded");
    expect(slow.record.hooks?.[0]).toMatchObject({ event: "on_success", exit_code: null, signal: "SIGKILL" });
    expect(slow.record.hooks![0]!.ms).toBeLessThan(10_000);
    expect(slow.record.warnings.join("\n")).toContain("on_success hook killed after 1 s (hook_timeout_seconds)");
  }, 60_000);
});
