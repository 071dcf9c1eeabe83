import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { QuarantineListing } from "../src/contracts/list-quarantine.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";

const yaml = (sinkPath: string, kinds = "click") => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    contract:
      columns:
        id: { type: string, required: true }
        kind: { type: string, enum: [${kinds}] }
    validation: quarantine
    sinks:
      - { type: parquet, path: ${sinkPath}, layout: partitioned, partition_by: [kind] }
`;

function project(sinkPath: string): string {
  const dir = projectDir(yaml(sinkPath));
  writeFileSync(join(dir, "events.jsonl"), '{"id":"a","kind":"click"}\n{"id":"b","kind":"tap"}\n');
  return dir;
}

async function listing(dir: string): Promise<QuarantineListing> {
  const r = await runCli(["quarantine", "events", "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as QuarantineListing;
}

describe("quarantine files appear with the run that committed them", () => {
  it("a run that fails after the contract leaves no quarantine file; the next good run leaves one", async () => {
    const dir = project("lake/events");
    // A folder sluice did not write where the sink would go: the write fails after validation.
    mkdirSync(join(dir, "data", "lake", "events"), { recursive: true });
    writeFileSync(join(dir, "data", "lake", "events", "README.md"), "hand-written\n");
    const failed = await runCli(["run", "--json"], { cwd: dir });
    expect(failed.code).toBe(1);
    const record = JSON.parse(failed.stdout) as RunRecord;
    expect(record.status).toBe("failed");
    expect(record.quarantine_path).toBeUndefined();
    expect(existsSync(join(dir, "data", "quarantine", "events"))).toBe(false);
    expect((await listing(dir)).total).toBe(0);

    writeFileSync(join(dir, "sluice.yaml"), yaml("lake/events2"));
    const ok = await runCli(["run", "--json"], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    const good = JSON.parse(ok.stdout) as RunRecord;
    expect(good.quarantine_path).toBe(`quarantine/events/${good.run_id}.parquet`);
    expect(ok.stderr).toContain(`quarantined 1 rows -> ${good.quarantine_path}`);
    expect(await listing(dir)).toMatchObject({ total: 1, runs: [good.run_id] });
  });

  it("a file left by a run that died before its record is neither listed nor replayed, and the next run sweeps it", async () => {
    const dir = project("lake/events");
    const ok = await runCli(["run", "--json"], { cwd: dir });
    const good = JSON.parse(ok.stdout) as RunRecord;
    // What a kill between publishing the quarantine file and saving the record leaves.
    const orphanId = "20260101T000000Z_dead01";
    const qdir = join(dir, "data", "quarantine", "events");
    copyFileSync(join(qdir, `${good.run_id}.parquet`), join(qdir, `${orphanId}.parquet`));
    writeFileSync(join(qdir, "notes.txt"), "mine\n");
    expect(await listing(dir)).toMatchObject({ total: 1, runs: [good.run_id] });
    const replay = await runCli(["replay", "events", "--run", orphanId], { cwd: dir });
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(/has no quarantined rows/);

    const again = await runCli(["run"], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    const left = readdirSync(qdir).sort();
    expect(left).not.toContain(`${orphanId}.parquet`);
    expect(left).toContain("notes.txt");
    expect(left).toContain(`${good.run_id}.parquet`);
  });

  it("replay logs the quarantine file that exists after it", async () => {
    const dir = project("lake/events");
    const ok = await runCli(["run", "--json"], { cwd: dir });
    const first = JSON.parse(ok.stdout) as RunRecord;
    const r = await runCli(["replay", "events", "--run", first.run_id], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const logged = /quarantined \d+ rows -> ([^\s"]+)/.exec(r.stderr)?.[1];
    expect(logged).toBe(`quarantine/events/${first.run_id}.parquet`);
    expect(existsSync(join(dir, "data", logged!))).toBe(true);

    // Once the contract accepts the row, replay empties the quarantine and names no file.
    writeFileSync(join(dir, "sluice.yaml"), yaml("lake/events", "click, tap"));
    const fixed = await runCli(["replay", "events", "--run", first.run_id, "--json"], { cwd: dir });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((JSON.parse(fixed.stdout) as RunRecord).quarantine_path).toBeUndefined();
    expect(fixed.stderr).not.toMatch(/quarantined \d+ rows ->/);
    expect(existsSync(join(dir, "data", logged!))).toBe(false);
  });
});

describe("a partitioned sink never deletes a folder sluice did not write", () => {
  it("refuses with a clear error and leaves every file in place", async () => {
    const dir = project("lake/events");
    const mine = join(dir, "data", "lake", "events");
    mkdirSync(join(mine, "kind=old"), { recursive: true });
    writeFileSync(join(mine, "README.md"), "hand-written\n");
    writeFileSync(join(mine, "kind=old", "hand.parquet"), "not sluice's\n");
    const r = await runCli(["run"], { cwd: dir });
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/is a folder sluice did not write \(it holds (README\.md, kind=old|kind=old, README\.md)\)/);
    expect(out).toMatch(/hint: sluice never deletes what it did not write/);
    expect(readdirSync(mine).sort()).toEqual(["README.md", "kind=old"]);
    expect(readdirSync(join(mine, "kind=old"))).toEqual(["hand.parquet"]);
  });
});
