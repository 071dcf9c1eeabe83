import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

const GOLDEN = resolve(import.meta.dirname, "..", "..", "shared", "delta-golden");
const haveGolden = existsSync(GOLDEN);
if (!haveGolden) console.warn(`delta source golden tests skipped: ${GOLDEN} is absent`);

const reader = (path: string, asOf = "") => `version: 1
data_dir: ./data
pipelines:
  copy:
    source: { type: file, format: delta, path: ${JSON.stringify(path)}${asOf} }
    validation: "off"
    sinks:
      - { type: parquet, path: raw/copy }
`;

async function copyOf(dir: string): Promise<{ record: RunRecord; rows: { id: bigint }[] }> {
  const r = await runCli(["run", "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const record = JSON.parse(r.stdout) as RunRecord;
  const rows = await duckQuery<{ id: bigint }>(
    `SELECT id FROM '${join(dir, "data", "raw", "copy", "copy_latest.parquet")}' ORDER BY id`,
  );
  return { record, rows };
}

describe("file source, format: delta", () => {
  it.skipIf(!haveGolden)(
    "reads a Delta table at its latest version and as of any version (checkpoint, deletes)",
    async () => {
      const table = join(GOLDEN, "basic-with-inserts-deletes-checkpoint");
      const expected = JSON.parse(readFileSync(join(table, "expected.json"), "utf8")) as {
        rows: number;
        at_versions: Record<string, number>;
      };
      const latest = await copyOf(projectDir(reader(table)));
      expect(latest.record.rows.extracted).toBe(expected.rows);
      expect(latest.record.source).toContain("version 13");
      for (const v of ["0", "5", "10", "12"]) {
        const asOf = await copyOf(projectDir(reader(table, `, version: ${v}`)));
        expect(asOf.rows.length, `version ${v}`).toBe(expected.at_versions[v]);
      }
    },
  );

  it.skipIf(!haveGolden)("refuses a table that needs a newer reader, naming the feature", async () => {
    const r = await runCli(["run"], { cwd: projectDir(reader(join(GOLDEN, "log-replay-dv-key-cases"))) });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/deletionVectors/);
  });

  it("reads back what a delta sink wrote, as of the first version", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  write:
    source: { type: generate, dataset: transactions, rows: 300, seed: 2 }
    validation: "off"
    sinks:
      - { type: parquet, path: lake/tx, layout: partitioned, format: delta, partition_by: [currency] }
`);
    for (let i = 0; i < 2; i++) expect((await runCli(["run", "write"], { cwd: dir })).code).toBe(0);
    const copy = projectDir(reader(join(dir, "data", "lake", "tx"), ", version: 0"));
    const r = await runCli(["run", "--json"], { cwd: copy });
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.rows.extracted).toBe(300);
    expect(record.source).toMatch(/version 0/);
    const [row] = await duckQuery<{ currencies: bigint }>(
      `SELECT count(DISTINCT currency) AS currencies FROM '${join(copy, "data", "raw", "copy", "copy_latest.parquet")}'`,
    );
    expect(Number(row!.currencies)).toBeGreaterThan(1);
  });
});
