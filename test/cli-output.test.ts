import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { projectDir, runCli } from "./support/cli.js";

const config = `version: 1
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 1 }
    validation: "off"
    sinks:
      - type: parquet
        path: raw/behavioral_events
  other:
    source: { type: generate, dataset: behavioral_events, rows: 1 }
    validation: "off"
    sinks:
      - type: parquet
        path: raw/other
`;

describe("sluice query output", () => {
  let warehouse: string;
  beforeAll(async () => {
    warehouse = join(projectDir(config), "w.duckdb");
    const db = await DuckDBInstance.create(warehouse);
    const con = await db.connect();
    await con.run(`CREATE TABLE t AS SELECT DATE '2024-01-05' AS d, '{"a":[1,2]}'::JSON AS j, 7 AS n`);
    con.closeSync();
    db.closeSync();
  });

  it("prints a DATE as a date and says (1 row)", async () => {
    const r = await runCli(["query", "SELECT d, n FROM t", "--warehouse", warehouse]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("2024-01-05");
    expect(r.stdout).not.toContain("00:00:00");
    expect(r.stdout).toMatch(/\(1 row\)\n$/);
    const csv = await runCli(["query", "SELECT d FROM t", "--warehouse", warehouse, "--format", "csv"]);
    expect(csv.stdout).toBe("d\n2024-01-05\n");
  });

  it("emits JSON columns as JSON values and dates as dates in --format json", async () => {
    const r = await runCli(["query", "SELECT d, j, n FROM t", "--warehouse", warehouse, "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ d: "2024-01-05", j: { a: [1, 2] }, n: 7 }]);
  });
});

describe("sluice runs and check output", () => {
  it("runs has column headers, names an unknown pipeline, and says no runs yet for a known one", async () => {
    const dir = projectDir(config);
    const run = await runCli(["run", "events"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\(1 row[,)]/);
    const r = await runCli(["runs"], { cwd: dir });
    expect(r.code).toBe(0);
    const [header, row] = r.stdout.split("\n");
    expect(header).toMatch(/^run_id\s+pipeline\s+status\s+written\s+dataset\s+duration$/);
    expect(row).toMatch(/^\S+\s+events\s+succeeded\s+1\s+1\s+\d+\.\ds$/);

    const unknown = await runCli(["runs", "evnts"], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown pipeline "evnts"; pipelines: events, other; did you mean "events"?');
    const none = await runCli(["runs", "other"], { cwd: dir });
    expect(none.code).toBe(0);
    expect(none.stdout).toBe("no runs yet\n");
  });

  it("check says 1 pipeline, not 1 pipelines", async () => {
    const dir = projectDir(config.slice(0, config.indexOf("  other:")));
    const r = await runCli(["check"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(": ok (1 pipeline)");
  });
});
