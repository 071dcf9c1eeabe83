import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";

const pipeline = (name: string, sink: string) => `version: 1
data_dir: ./data
pipelines:
  ${JSON.stringify(name)}:
    source: { type: file, path: events.jsonl }
    validation: quarantine
    contract: { columns: { id: { type: string, required: true } } }
    sinks:
      - ${sink}
`;

function project(name: string, sink = "{ type: parquet, path: raw/events }"): string {
  const dir = projectDir(pipeline(name, sink));
  writeFileSync(join(dir, "events.jsonl"), '{"id":"a"}\n{"id":null}\n');
  return dir;
}

describe("every output path stays under data_dir", () => {
  it("refuses a pipeline name, sink path or dataset that would leave data_dir, before writing anything", async () => {
    // A name nothing else in the temp folder has, so "nothing was written beside it" can be checked.
    const x = `sluice-escape-${process.pid}-${Date.now()}`;
    const cases: [string, string, RegExp][] = [
      [
        `../../${x}`,
        "{ type: parquet, path: raw/events }",
        /pipeline name "\.\.\/\.\.\/sluice-escape-\S+" cannot name a folder/,
      ],
      ["events", `{ type: parquet, path: ../../${x} }`, /path "\.\.\/\.\.\/sluice-escape-\S+" is not under data_dir/],
      [
        "events",
        `{ type: parquet, path: raw/events, dataset: ../../${x} }`,
        /dataset "\.\.\/\.\.\/sluice-escape-\S+" cannot name/,
      ],
      ["events", "{ type: parquet, path: raw/.., layout: partitioned }", /path "raw\/\.\." is not under data_dir/],
    ];
    for (const [name, sink, message] of cases) {
      const dir = project(name, sink);
      const r = await runCli(["run"], { cwd: dir });
      expect(r.code, `${name} ${sink}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/sluice\.yaml:\d+:\d+/);
      // Nothing was written anywhere: not in the project, not beside it.
      expect(readdirSync(dir).sort()).toEqual(["events.jsonl", "sluice.yaml"]);
      expect(existsSync(join(dir, "..", x))).toBe(false);
    }
  });

  it("accepts an absolute sink path: the user's explicit choice", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "sluice-abs-"));
    const dir = project("events", `{ type: parquet, path: ${JSON.stringify(join(elsewhere, "events"))} }`);
    const r = await runCli(["run"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(elsewhere, "events"))).toContain("events_latest.parquet");
  });

  it("replay and quarantine take run ids, not paths into another pipeline's folders", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  a:
    source: { type: file, path: events.jsonl }
    validation: quarantine
    contract: { columns: { id: { type: string, required: true } } }
    sinks: [{ type: parquet, path: raw/a }]
  b:
    source: { type: file, path: events.jsonl }
    validation: quarantine
    contract: { columns: { id: { type: string, required: true } } }
    sinks: [{ type: parquet, path: raw/b }]
`);
    writeFileSync(join(dir, "events.jsonl"), '{"id":"a"}\n{"id":null}\n');
    const ran = await runCli(["run", "a", "--json"], { cwd: dir });
    expect(ran.code, ran.stderr).toBe(0);
    const record = JSON.parse(ran.stdout) as RunRecord;
    const fileOfA = join(dir, "data", "quarantine", "a", `${record.run_id}.parquet`);
    expect(existsSync(fileOfA)).toBe(true);

    const replay = await runCli(["replay", "b", "--run", `../a/${record.run_id}`], { cwd: dir });
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/is not a run id/);
    // `quarantine --run` only ever names files it listed itself: an id that is not one is not found.
    const listed = await runCli(["quarantine", "b", "--run", `../a/${record.run_id}`], { cwd: dir });
    expect(listed.code).toBe(1);
    expect(listed.stderr).toMatch(/has no quarantined rows/);
    // B's replay of A's run id (a real id, but not B's run) finds nothing of B's.
    const cross = await runCli(["replay", "b", "--run", record.run_id], { cwd: dir });
    expect(cross.code).toBe(1);
    expect(cross.stderr).toMatch(/has no quarantined rows/);
    expect(existsSync(fileOfA)).toBe(true);
    expect(existsSync(join(dir, "data", "raw", "b"))).toBe(false);
  });
});
