import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

const yaml = `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    sinks:
      - { type: parquet, path: raw/events }
`;

async function run(
  lines: string[],
): Promise<{ record: RunRecord; latest: string; stderr: string; code: number | null }> {
  const dir = projectDir(yaml);
  writeFileSync(join(dir, "events.jsonl"), `${lines.join("\n")}\n`);
  const r = await runCli(["run", "--json"], { cwd: dir, env: { LOG_LEVEL: "debug" } });
  return {
    record: JSON.parse(r.stdout) as RunRecord,
    latest: join(dir, "data", "raw", "events", "events_latest.parquet"),
    stderr: r.stderr,
    code: r.code,
  };
}

/** 30,000 records: DuckDB detects types on a sample of the first 20,480. */
const many = (n: number, late: (i: number) => string | undefined) =>
  Array.from({ length: n }, (_, i) => late(i) ?? JSON.stringify({ id: i, name: `n${i}` }));

describe("the plain copy (no contract, validation off)", () => {
  it("reads, lineages and writes a well-formed file in one scan, typed as DuckDB detects them", async () => {
    const { record, latest, stderr } = await run(many(1000, () => undefined));
    expect(record.status).toBe("succeeded");
    expect(record.rows).toMatchObject({ extracted: 1000, valid: 1000, written: 1000 });
    expect(Object.keys(record.durations_ms)).not.toContain("validate");
    expect(stderr).not.toMatch(/loading the batch/);
    const cols = await duckQuery<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT id, name FROM '${latest}'`,
    );
    expect(cols.map((c) => `${c.column_name} ${c.column_type}`)).toEqual(["id BIGINT", "name VARCHAR"]);
  });

  it("keeps a key that first appears after DuckDB's sample, and a value its detected type does not fit", async () => {
    const lines = many(30000, (i) =>
      i === 25000 ? JSON.stringify({ id: "not-a-number", name: "odd", late: true }) : undefined,
    );
    const { record, latest } = await run(lines);
    expect(record.status).toBe("succeeded");
    expect(record.rows.written).toBe(30000);
    const [row] = await duckQuery<{ n: bigint; odd: string; late: bigint }>(
      `SELECT count(*) n, max(id) FILTER (WHERE name = 'odd') odd, count(late) late FROM '${latest}'`,
    );
    // id widened to JSON (numbers and a string): nothing is lost.
    expect(row).toEqual({ n: 30000n, odd: '"not-a-number"', late: 1n });
  });

  it("fails on a malformed line, naming it, and writes nothing", async () => {
    const { record, code } = await run([...many(10, () => undefined), '{"id": 11, "name"']);
    expect(code).toBe(1);
    expect(record.error?.message).toMatch(/1 record\(s\) could not be parsed: events\.jsonl:11/);
    expect(record.outputs).toEqual([]);
  });
});
