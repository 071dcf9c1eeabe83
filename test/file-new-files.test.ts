import { appendFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { QuarantineListing } from "../src/contracts/list-quarantine.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

// S2's batch side: card transactions land as CSV files in a folder, and a `files: new` run reads only
// the files no earlier run consumed (SPEC section 5, file), through the real CLI: malformed rows of
// several files quarantined with their file and line, a fourth file read alone, a run with no new
// file reading nothing, a run killed or failed after a sink committed finished once, a changed file
// read again with a warning, `--full` reading everything again.

const yaml = `version: 1
data_dir: ./data
pipelines:
  tx:
    source: { type: file, path: "landing/*.csv", files: new }
    validation: quarantine
    contract:
      columns:
        transaction_id: { type: string, required: true, unique: true }
        account_id: { type: string, required: true }
        amount: { type: number, required: true, min: 0 }
        currency: { type: string, enum: [EUR, USD] }
        merchant: { type: string }
        timestamp: { type: timestamp, required: true }
    dedup: { strategy: none }
    retries: { attempts: 1, backoff_seconds: 0 }
    sinks:
      - { type: parquet, path: raw/tx }
      - { type: duckdb, schema: research, table: tx, mode: table }
`;

const HEADER = "transaction_id,account_id,amount,currency,merchant,timestamp";
const row = (id: string, amount: string | number, day = 1) =>
  `${id},acc${id.slice(1)},${amount},EUR,Shop ${id},2026-03-0${day}T10:00:00Z`;

/** Day 1: 3 valid rows. Day 2: line 3 has a field too many, line 4 an amount that is not a number. Day 3: 2 valid. */
const FILES: Record<string, string[]> = {
  "2026-03-01.csv": [row("t1", 10), row("t2", 20.5), row("t3", 3)],
  "2026-03-02.csv": [row("t4", 4, 2), `${row("t5", 5, 2)},extra`, row("t6", "abc", 2), row("t7", 7, 2)],
  "2026-03-03.csv": [row("t8", 8, 3), row("t9", 9, 3)],
};
const FOURTH: [string, string[]] = ["2026-03-04.csv", [row("t10", 10, 4), row("t11", 11, 4), row("t12", 12, 4)]];
const FIFTH: [string, string[]] = ["2026-03-05.csv", [row("t13", 13, 5)]];

function land(dir: string, [name, rows]: [string, string[]]): void {
  writeFileSync(join(dir, "landing", name), `${HEADER}\n${rows.join("\n")}\n`);
}

function project(): string {
  const dir = projectDir(yaml, "sluice-new-files-");
  mkdirSync(join(dir, "landing"));
  for (const file of Object.entries(FILES)) land(dir, file);
  return dir;
}

async function run(dir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunRecord> {
  const r = await runCli(["run", "--json", ...args], { cwd: dir, env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord;
}

async function runs(dir: string): Promise<RunRecord[]> {
  const r = await runCli(["runs", "tx", "--json"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord[];
}

/** What the warehouse table and the lake's latest snapshot hold: rows, distinct ids, sum of amounts. */
async function sinks(dir: string): Promise<{ warehouse: Totals; lake: Totals }> {
  const data = join(dir, "data");
  const totals = async (from: string, before = "") => {
    const [r] = await duckQuery<{ n: bigint; ids: bigint; sum: number | null }>(
      `${before}SELECT count(*) AS n, count(DISTINCT transaction_id) AS ids, sum(amount)::DOUBLE AS sum FROM ${from}`,
    );
    return { n: Number(r!.n), ids: Number(r!.ids), sum: r!.sum ?? 0 };
  };
  return {
    warehouse: await totals("w.research.tx", `ATTACH '${data}/duckdb/analytics.duckdb' AS w (READ_ONLY); `),
    lake: await totals(`'${data}/raw/tx/tx_latest.parquet'`),
  };
}
type Totals = { n: number; ids: number; sum: number };
const once = (n: number, sum: number): Totals => ({ n, ids: n, sum });

/** The state the pipeline committed. */
function state(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, "data", "state", "tx.json"), "utf8")) as Record<string, unknown>;
}

// Valid rows: day 1 = 33.5 (3 rows), day 2 = 11 (t4, t7), day 3 = 17 (2 rows): 7 rows, 61.5.
const FIRST = once(7, 61.5);

describe("file source, files: new", () => {
  it("quarantines malformed rows with file and line, then reads only new files, then nothing", async () => {
    const dir = project();
    const first = await run(dir);
    expect(first.status).toBe("succeeded");
    expect(first.source).toBe("3 files matching landing/*.csv (first run: every file)");
    expect(first.rows).toMatchObject({ extracted: 9, valid: 7, quarantined: 2, written: 7 });
    expect(await sinks(dir)).toEqual({ warehouse: FIRST, lake: FIRST });

    const q = await runCli(["quarantine", "tx", "--json"], { cwd: dir });
    expect(q.code, q.stderr).toBe(0);
    const listing = JSON.parse(q.stdout) as QuarantineListing;
    expect(listing.rows.map((r) => r.source_pos).sort()).toEqual([
      "landing/2026-03-02.csv:3",
      "landing/2026-03-02.csv:4",
    ]);
    const bad = listing.rows.find((r) => r.source_pos === "landing/2026-03-02.csv:4")!;
    expect(bad.failures.map((f) => f.column)).toEqual(["amount"]);
    const unparseable = listing.rows.find((r) => r.source_pos === "landing/2026-03-02.csv:3")!;
    expect(unparseable.raw).toContain("t5,");

    // A fourth file lands: the next run reads it alone, as a delta, and the state lists 4 files.
    land(dir, FOURTH);
    const second = await run(dir);
    expect(second.source).toBe("1 new file matching landing/*.csv: landing/2026-03-04.csv");
    expect(second.rows).toMatchObject({ extracted: 3, valid: 3, quarantined: 0, written: 3, dataset: 10 });
    expect(second.batch_id).toMatch(/^files-[0-9a-f]{16}$/);
    const listed = await runs(dir);
    expect(listed.map((r) => [r.rows.extracted, r.source])).toEqual([
      [9, first.source],
      [3, second.source],
    ]);
    expect(Object.keys(state(dir).files as object).sort()).toEqual([
      ...Object.keys(FILES).map((f) => `landing/${f}`),
      `landing/${FOURTH[0]}`,
    ]);
    expect(await sinks(dir)).toEqual({ warehouse: once(10, 94.5), lake: once(10, 94.5) });

    // Nothing new: the run succeeds, reads nothing, and says so.
    const third = await run(dir);
    expect(third.status).toBe("succeeded");
    expect(third.source).toBe("no new files matching landing/*.csv");
    expect(third.rows).toMatchObject({ extracted: 0, written: 0, dataset: 10 });
    const plain = await runCli(["run"], { cwd: dir });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain("source: no new files matching landing/*.csv");
    expect(plain.stderr).toContain("no new files matching landing/*.csv (4 files read before)");
    expect(await sinks(dir)).toEqual({ warehouse: once(10, 94.5), lake: once(10, 94.5) });

    // --full reads every file again and replaces the dataset.
    const full = await run(dir, ["--full"]);
    expect(full.source).toBe("4 files matching landing/*.csv (--full: every file)");
    expect(full.rows).toMatchObject({ extracted: 12, valid: 10, quarantined: 2, dataset: 10 });
    expect(await sinks(dir)).toEqual({ warehouse: once(10, 94.5), lake: once(10, 94.5) });
    expect((await run(dir)).rows.extracted).toBe(0);
  });

  it.each(["kill", "fail"])(
    "finishes a batch whose run was stopped after a sink committed (%s): each row once",
    async (action) => {
      const dir = project();
      await run(dir);
      land(dir, FOURTH);
      const stopped = await runCli(["run", "--json"], {
        cwd: dir,
        env: { SLUICE_FAILPOINTS: `after:sink:0=${action}` },
      });
      expect(stopped.code).not.toBe(0);
      const pending = state(dir).pending as { batch_id: string };
      expect(pending.batch_id).toMatch(/^files-/);
      // A file landing meanwhile is not part of the interrupted batch: it is read by the run after it.
      land(dir, FIFTH);
      const finished = await run(dir);
      expect(finished.source).toBe("1 new file matching landing/*.csv: landing/2026-03-05.csv");
      const records = await runs(dir);
      const resumed = records.find((r) => r.status === "succeeded" && r.batch_id === pending.batch_id)!;
      expect(resumed.source).toBe("1 new file matching landing/*.csv: landing/2026-03-04.csv");
      expect(resumed.rows.extracted).toBe(3);
      expect(state(dir).pending).toBeUndefined();
      expect(await sinks(dir)).toEqual({ warehouse: once(11, 107.5), lake: once(11, 107.5) });
    },
  );

  it("refuses to finish an interrupted batch whose file changed since; --full rebuilds", async () => {
    const dir = project();
    await run(dir);
    land(dir, FOURTH);
    const stopped = await runCli(["run"], { cwd: dir, env: { SLUICE_FAILPOINTS: "after:sink:0=kill" } });
    expect(stopped.code).not.toBe(0);
    land(dir, [FOURTH[0], FOURTH[1].slice(0, 2)]);
    const refused = await runCli(["run"], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toContain("the interrupted batch read `landing/2026-03-04.csv` (");
    expect(refused.stdout + refused.stderr).toContain("sluice run --full");
    await run(dir, ["--full"]);
    expect(state(dir).pending).toBeUndefined();
    expect(await sinks(dir)).toEqual({ warehouse: once(9, 61.5 + 21), lake: once(9, 61.5 + 21) });
    expect((await run(dir)).rows.extracted).toBe(0);
  });

  it("reads a consumed file again when it changed, with a warning naming it", async () => {
    const dir = project();
    await run(dir);
    const path = join(dir, "landing", "2026-03-03.csv");
    appendFileSync(path, `${row("t20", 20, 3)}\n`);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const r = await runCli(["run", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("`landing/2026-03-03.csv` changed since it was read");
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.source).toBe("1 new file matching landing/*.csv: landing/2026-03-03.csv");
    expect(record.rows.extracted).toBe(3);
    // dedup none: the earlier version's two rows are there twice (the warning says so); t20 once.
    expect((await sinks(dir)).warehouse).toEqual({ n: 10, ids: 8, sum: 61.5 + 17 + 20 });
  });
});
