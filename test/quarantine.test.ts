import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { QuarantineListing } from "../src/contracts/list-quarantine.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery as query } from "./support/duckdb.js";

const yaml = (kinds: string, dedup = "{ strategy: none }") => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    contract:
      columns:
        id: { type: string, required: true, unique: true }
        kind: { type: string, required: true, enum: [${kinds}] }
        n: { type: integer, min: 0 }
    validation: quarantine
    dedup: ${dedup}
    sinks:
      - { type: parquet, path: raw/events }
`;

const LINES = [
  '{"id":"a","kind":"click","n":1}', // 1 ok
  '{"id":"b","kind":"tap","n":2}', // 2 enum: passes once `tap` is allowed
  '{"id":"c","kind":"tap","n":-1}', // 3 enum and min: still fails min after that
  '{"id":"d","kind":"click","n":"x"}', // 4 type
  '{"id":"e", "kind"', // 5 unparseable
  '{"id":"f","kind":"swipe","n":3}', // 6 enum: passes once `swipe` is allowed
];

function project(kinds: string, dedup?: string): string {
  const dir = projectDir(yaml(kinds, dedup));
  writeFileSync(join(dir, "events.jsonl"), `${LINES.join("\n")}\n`);
  return dir;
}

async function runOnce(dir: string): Promise<RunRecord> {
  const r = await runCli(["run", "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord;
}

async function listing(dir: string, ...args: string[]): Promise<QuarantineListing> {
  const r = await runCli(["quarantine", "events", "--json", ...args], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as QuarantineListing;
}

const setKinds = (dir: string, kinds: string) => writeFileSync(join(dir, "sluice.yaml"), yaml(kinds));
const latest = (dir: string) => `'${join(dir, "data", "raw", "events", "events_latest.parquet")}'`;

describe("sluice quarantine", () => {
  it("lists quarantined rows with their reasons and positions (table and JSON)", async () => {
    const dir = project("click");
    const record = await runOnce(dir);
    expect(record.rows).toMatchObject({ extracted: 6, valid: 1, quarantined: 5 });

    const table = await runCli(["quarantine", "events"], { cwd: dir });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/run_id\s+source_pos\s+reasons\s+row/);
    expect(table.stdout).toContain('kind: enum "tap"; n: min "-1"');
    expect(table.stdout).toContain('n: type "x"');
    expect(table.stdout).toContain("events.jsonl:5");
    expect(table.stdout).toContain(`5 quarantined rows of events in 1 run`);

    const json = await listing(dir);
    expect(json.total).toBe(5);
    expect(json.runs).toEqual([record.run_id]);
    expect(json.rows.map((r) => [r.source_pos, r.failures.map((f) => `${f.column ?? ""}.${f.rule}`)])).toEqual([
      ["events.jsonl:2", ["kind.enum"]],
      ["events.jsonl:3", ["kind.enum", "n.min"]],
      ["events.jsonl:4", ["n.type"]],
      ["events.jsonl:5", [".unparseable"]],
      ["events.jsonl:6", ["kind.enum"]],
    ]);
    expect(json.rows[2]!.row).toEqual({ id: "d", kind: "click", n: "x" });
    expect(json.rows[3]!.raw).toBe('{"id":"e", "kind"');

    const limited = await listing(dir, "--run", record.run_id, "--limit", "2");
    expect(limited.total).toBe(5);
    expect(limited.rows).toHaveLength(2);

    const missing = await runCli(["quarantine", "events", "--run", "nope"], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`runs with quarantined rows: ${record.run_id}`);
  });
});

describe("sluice replay", () => {
  it("writes rows that now pass, keeps the rest quarantined with their new reasons", async () => {
    const dir = project("click");
    const original = await runOnce(dir);
    const file = join(dir, "data", original.quarantine_path!);

    setKinds(dir, "click, tap");
    const r = await runCli(["replay", "events", "--run", original.run_id], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`replayed 5 rows of run ${original.run_id}: 1 passed, 4 still quarantined`);

    // The row that passes now is in the lake, written by the replay run; the first run's row is kept.
    const written = await query<{ id: string; kind: string; n: bigint; run: string }>(
      `SELECT id, kind, n, _run_id AS run FROM ${latest(dir)} ORDER BY id`,
    );
    const [replay] = (
      JSON.parse((await runCli(["runs", "events", "--json"], { cwd: dir })).stdout) as RunRecord[]
    ).slice(-1);
    expect(replay!.source).toBe(`quarantine of run ${original.run_id} (5 rows)`);
    expect(replay!.quarantine_path).toBe(original.quarantine_path);
    expect(written).toEqual([
      { id: "a", kind: "click", n: 1n, run: original.run_id },
      { id: "b", kind: "tap", n: 2n, run: replay!.run_id },
    ]);

    // Still failing rows stay in the same file, with the reasons found now; nothing else is left behind.
    const left = await listing(dir);
    expect(left.runs).toEqual([original.run_id]);
    expect(left.rows.map((x) => [x.source_pos, x.failures.map((f) => `${f.column ?? ""}.${f.rule}`)])).toEqual([
      ["events.jsonl:3", ["n.min"]],
      ["events.jsonl:4", ["n.type"]],
      ["events.jsonl:5", [".unparseable"]],
      ["events.jsonl:6", ["kind.enum"]],
    ]);
    expect(existsSync(join(dir, "data", "quarantine", "events", `${replay!.run_id}.parquet`))).toBe(false);
    expect(existsSync(file)).toBe(true);

    // Once every row can pass (or is unparseable for good), a replay empties the file of the passing ones.
    setKinds(dir, "click, tap, swipe");
    const again = await runCli(["replay", "events", "--run", original.run_id, "--json"], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as RunRecord).rows).toMatchObject({ extracted: 4, valid: 1, quarantined: 3 });
    expect((await listing(dir)).total).toBe(3);
    const ids = await query<{ id: string }>(`SELECT id FROM ${latest(dir)} ORDER BY id`);
    expect(ids.map((x) => x.id)).toEqual(["a", "b", "f"]);
  });

  it("removes the quarantine file when every row passes, and replay goes through dedup", async () => {
    const dir = projectDir(yaml("click", "{ strategy: merge, key: [id], order_by: n }"));
    writeFileSync(join(dir, "events.jsonl"), '{"id":"a","kind":"click","n":1}\n{"id":"b","kind":"tap","n":2}\n');
    const original = await runOnce(dir);
    writeFileSync(join(dir, "sluice.yaml"), yaml("click, tap", "{ strategy: merge, key: [id], order_by: n }"));
    const r = await runCli(["replay", "events", "--run", original.run_id, "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.rows).toMatchObject({ extracted: 1, valid: 1, quarantined: 0, written: 1 });
    expect(record.quarantine_path).toBeUndefined();
    expect(existsSync(join(dir, "data", original.quarantine_path!))).toBe(false);
    const rows = await query<{ id: string }>(`SELECT id FROM ${latest(dir)} ORDER BY id`);
    expect(rows.map((x) => x.id)).toEqual(["a", "b"]);
    const nothing = await runCli(["quarantine", "events"], { cwd: dir });
    expect(nothing.stdout).toBe("no quarantined rows for events\n");

    const gone = await runCli(["replay", "events", "--run", original.run_id], { cwd: dir });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("has no quarantined rows");
    expect(readFileSync(join(dir, "sluice.yaml"), "utf8")).toContain("merge");
  });

  it("runs the current transforms again, and refuses steps that cannot run twice unless --skip-transforms", async () => {
    const config = (transforms: string) => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    transforms: ${transforms}
    contract:
      columns:
        id: { type: string, required: true }
        kind: { type: string, enum: [click, tap] }
    validation: quarantine
    sinks:
      - { type: parquet, path: raw/events }
`;
    const env = { SLUICE_PII_SALT: "pepper" };
    const dir = projectDir(config("[]"));
    writeFileSync(join(dir, "events.jsonl"), '{"id":"a","kind":"click"}\n{"id":"b","kind":"TAP"}\n');
    const original = await runOnce(dir);
    expect(original.rows).toMatchObject({ valid: 1, quarantined: 1 });

    // A fix made in the transforms applies to the replayed rows.
    writeFileSync(
      join(dir, "sluice.yaml"),
      config('[ { type: sql, query: "SELECT * REPLACE (lower(kind) AS kind) FROM input" } ]'),
    );
    const fixed = await runCli(["replay", "events", "--run", original.run_id, "--json"], { cwd: dir });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(
      (await query<{ id: string; kind: string }>(`SELECT id, kind FROM ${latest(dir)} ORDER BY id`)).map((r) => r.kind),
    ).toEqual(["click", "tap"]);

    // Rows stored after a pii hash would be hashed twice: refused, then replayed without transforms.
    const hashed = projectDir(config("[ { type: pii, columns: { id: hash } } ]"));
    writeFileSync(join(hashed, "events.jsonl"), '{"id":"a","kind":"click"}\n{"id":"b","kind":"swipe"}\n');
    const r1 = await runCli(["run", "--json"], { cwd: hashed, env });
    const first = JSON.parse(r1.stdout) as RunRecord;
    const stored = await query<{ id: string }>(`SELECT id FROM '${join(hashed, "data", first.quarantine_path!)}'`);
    expect(stored[0]!.id).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(
      join(hashed, "sluice.yaml"),
      config("[ { type: pii, columns: { id: hash } } ]").replace("tap]", "tap, swipe]"),
    );
    const refused = await runCli(["replay", "events", "--run", first.run_id], { cwd: hashed, env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("transforms[0] (pii hash) cannot run twice on a row");
    expect(refused.stderr).toContain("--skip-transforms");
    const skipped = await runCli(["replay", "events", "--run", first.run_id, "--skip-transforms"], {
      cwd: hashed,
      env,
    });
    expect(skipped.code, skipped.stderr).toBe(0);
    const written = await query<{ id: string }>(`SELECT id FROM ${latest(hashed)} WHERE kind = 'swipe'`);
    expect(written).toEqual(stored);
  });
});
