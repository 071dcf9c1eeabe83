import { spawn } from "node:child_process";
import { existsSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { CLI, projectDir, runCli } from "./support/cli.js";
import { duckQuery as duck } from "./support/duckdb.js";

/** Rows of the run that gets killed: enough that writing them takes a while (gzip is the slowest codec). */
const BIG = 3_000_000;

const yaml = (layout: "snapshot" | "partitioned", path: string) => `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 1000, seed: 5 }
    validation: "off"
    retries: { attempts: 1 }
    sinks:
      - { type: parquet, path: ${path}, layout: ${layout}, compression: gzip }
`;

async function run(dir: string, rows: number): Promise<RunRecord> {
  const r = await runCli(["run", "--json", "--set", `pipelines.events.source.rows=${rows}`], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord;
}

/**
 * Starts `sluice run` with BIG rows in its own process group, waits until
 * `writing()` says the sink is in the middle of writing, and kills the whole
 * group with SIGKILL. Returns what `writing()` saw.
 */
async function killWhileWriting(dir: string, writing: () => string | undefined): Promise<string> {
  const child = spawn(process.execPath, [CLI, "run", "--json", "--set", `pipelines.events.source.rows=${BIG}`], {
    cwd: dir,
    detached: true,
    stdio: "ignore",
  });
  const exited = new Promise<NodeJS.Signals | null>((done) => child.on("exit", (_code, signal) => done(signal)));
  const deadline = Date.now() + 90_000;
  let seen: string | undefined;
  while (!seen && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    seen = writing();
  }
  process.kill(-child.pid!, "SIGKILL");
  expect(await exited).toBe("SIGKILL");
  expect(seen, "the run never reached the write stage").toBeDefined();
  return seen!;
}

/** `<run_id>/<file>` of a Parquet file with bytes in a run's scratch folder under `scratch`, if any. */
function stagedFile(scratch: string): string | undefined {
  try {
    for (const run of readdirSync(scratch)) {
      const f = readdirSync(join(scratch, run)).find(
        (n) => n.endsWith(".parquet") && statSync(join(scratch, run, n)).size > 0,
      );
      if (f) return join(run, f);
    }
  } catch {
    // The folder appeared or went away while looking: look again.
  }
  return undefined;
}

const hidden = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("."));
const visible = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith("."));

describe("SIGKILL in the middle of a write", () => {
  it("snapshot: no partial file is visible, latest still opens with the previous rows, the next run succeeds", async () => {
    const dir = projectDir(yaml("snapshot", "raw/behavioral_events"));
    const raw = join(dir, "data", "raw", "behavioral_events");
    const first = await run(dir, 1000);
    const before = visible(raw).sort();

    // The batch being written: its Parquet file in the run's scratch folder already holds some bytes
    // (once complete, the snapshot is that file, hard-linked into place under a hidden name and renamed).
    const scratch = join(dir, "data", ".tmp");
    const partial = await killWhileWriting(dir, () => stagedFile(scratch));
    expect(existsSync(join(scratch, partial))).toBe(true);

    // Only complete files are visible, every one opens, latest is still the first run's.
    expect(visible(raw).sort()).toEqual(before);
    for (const f of visible(raw)) {
      const [r] = await duck<{ n: bigint }>(`SELECT count(*) AS n FROM '${join(raw, f)}'`);
      expect(r?.n, f).toBe(1000n);
    }
    const [latest] = await duck<{ n: bigint; run: string }>(
      `SELECT count(*) AS n, any_value(_run_id) AS run FROM '${join(raw, "behavioral_events_latest.parquet")}'`,
    );
    expect(latest).toEqual({ n: 1000n, run: first.run_id });

    // The next run succeeds and sweeps the leftover.
    const third = await run(dir, 2000);
    expect(hidden(raw)).toEqual([]);
    expect(existsSync(join(scratch, partial))).toBe(false);
    const [now] = await duck<{ n: bigint; run: string }>(
      `SELECT count(*) AS n, any_value(_run_id) AS run FROM '${join(raw, "behavioral_events_latest.parquet")}'`,
    );
    expect(now).toEqual({ n: 2000n, run: third.run_id });
  });

  it("partitioned: the dataset still reads as the previous version, the next run repairs it", async () => {
    const dir = projectDir(yaml("partitioned", "lake/behavioral_events"));
    const lake = join(dir, "data", "lake");
    const root = join(lake, "behavioral_events");
    const first = await run(dir, 1000);
    const version = readlinkSync(root);

    // The next version being built: a hidden aside folder beside the dataset with Parquet in it.
    const staging = await killWhileWriting(dir, () =>
      hidden(lake).find((f) => f.includes(".tmp-") && readdirSync(join(lake, f)).length > 0),
    );
    expect(hidden(lake)).toContain(staging);
    expect(readlinkSync(root)).toBe(version);

    const count = async () =>
      (
        await duck<{ n: bigint; runs: bigint; run: string }>(
          `SELECT count(*) AS n, count(DISTINCT _run_id) AS runs, any_value(_run_id) AS run
           FROM read_parquet('${root}/**/*.parquet', hive_partitioning = true)`,
        )
      )[0];
    expect(await count()).toEqual({ n: 1000n, runs: 1n, run: first.run_id });

    const third = await run(dir, 2000);
    expect(await count()).toEqual({ n: 2000n, runs: 1n, run: third.run_id });
    expect(hidden(lake)).toEqual([readlinkSync(root)]);
  });
});
