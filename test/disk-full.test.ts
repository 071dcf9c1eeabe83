import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { runCli } from "./support/cli.js";

/**
 * A full disk, for real: data_dir is a small tmpfs mounted by each test. Mounting needs root (as
 * CI and the developers' machines run); elsewhere the file is skipped with a message, never in CI.
 */
const mounts: string[] = [];

/** A project whose data_dir is a fresh tmpfs of `size`; returns the project folder. */
function project(size: string): { root: string; dataDir: string } {
  const root = mkdtempSync(join(tmpdir(), "sluice-diskfull-"));
  const dataDir = join(root, "data");
  mkdirSync(dataDir);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dataDir], { stdio: "ignore" });
  mounts.push(dataDir);
  writeFileSync(
    join(root, "sluice.yaml"),
    `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 200000, seed: 1 }
    validation: "off"
    retries: { attempts: 1, backoff_seconds: 0 }
    sinks:
      - { type: parquet, path: raw/events }
`,
  );
  return { root, dataDir };
}

const mounted = (() => {
  try {
    const { dataDir } = project("1m");
    execFileSync("umount", [dataDir]);
    mounts.pop();
    return true;
  } catch {
    if (process.env.CI) throw new Error("disk-full test: cannot mount a tmpfs (CI runs as root)");
    console.warn("disk-full test skipped: mounting a tmpfs needs root");
    return false;
  }
})();

function resize(dataDir: string, size: string): void {
  execFileSync("mount", ["-o", `remount,size=${size}`, dataDir]);
}

/** Every file under dir, relative, including hidden ones. */
function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe.skipIf(!mounted)("a full disk", () => {
  afterAll(() => {
    for (const m of mounts) execFileSync("umount", [m]);
  });

  it("fails the run with a clear message and a record, leaves no partial files, and the next run succeeds", async () => {
    const { root, dataDir } = project("1m");
    const r = await runCli(["run", "--json"], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.status).toBe("failed");
    expect(record.error?.message).toMatch(/no space left on the disk/);
    expect(record.error?.hint).toMatch(/free space on the disk that holds data_dir/);
    const saved = allFiles(dataDir).filter((f) => f.startsWith("runs/"));
    expect(saved).toEqual([`runs/events/${record.run_id}.json`]);
    expect(allFiles(dataDir).filter((f) => /\.tmp-|^\.tmp\//.test(f))).toEqual([]);

    resize(dataDir, "64m");
    const ok = await runCli(["run", "--json"], { cwd: root });
    expect(ok.code, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as RunRecord).rows.written).toBe(200000);
  });

  it("full before the run starts: says so, naming the path, and the next run sweeps what was left", async () => {
    const { root, dataDir } = project("1m");
    // Fill the disk with a file of the user's (never touched by sluice).
    try {
      writeFileSync(join(dataDir, "filler.bin"), Buffer.alloc(2 * 1024 * 1024));
    } catch {
      // full: the filler holds what fitted
    }
    const r = await runCli(["run"], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: no space left on the disk while in stage lock: .*\(taking the lock \S*locks\/events\.lock\)/,
    );
    expect(r.stderr).toMatch(/hint: free space on the disk that holds data_dir/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);

    resize(dataDir, "64m");
    const ok = await runCli(["run"], { cwd: root });
    expect(ok.code, ok.stderr).toBe(0);
    expect(allFiles(dataDir).filter((f) => /\.tmp-|^\.tmp\//.test(f))).toEqual([]);
    expect(allFiles(dataDir)).toContain("filler.bin");
  });
});
