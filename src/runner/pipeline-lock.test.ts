import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PipelineLock } from "./pipeline-lock.js";

const holder = (run_id: string) => ({ run_id, started_at: "2026-01-01T00:00:00.000Z", driver: "run" });

/** The pid of a process that has exited (so no process has it now, barring reuse). */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
}

describe("PipelineLock", () => {
  it("lets one holder in and names it to the next, until released", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-lock-"));
    const lock = PipelineLock.acquire(dir, "events", holder("20260101T000000Z_aaaaaa"));
    expect(() => PipelineLock.acquire(dir, "events", holder("20260101T000001Z_bbbbbb"))).toThrow(
      `pipeline \`events\` is already running: run 20260101T000000Z_aaaaaa (run, pid ${process.pid} on ${hostname()}, started 2026-01-01T00:00:00.000Z)`,
    );
    // Another pipeline is not held up.
    PipelineLock.acquire(dir, "other", holder("20260101T000001Z_cccccc")).release();
    lock.release();
    expect(existsSync(join(dir, "locks", "events.lock"))).toBe(false);
    PipelineLock.acquire(dir, "events", holder("20260101T000002Z_dddddd")).release();
  });

  it("takes over a lock whose process is gone, or one a kill left empty", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-lock-"));
    mkdirSync(join(dir, "locks"));
    const file = join(dir, "locks", "events.lock");
    const dead = { pid: deadPid(), host: hostname(), ...holder("20260101T000000Z_dead01") };
    writeFileSync(file, JSON.stringify(dead));
    const lock = PipelineLock.acquire(dir, "events", holder("20260101T000001Z_aaaaaa"));
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({
      pid: process.pid,
      run_id: "20260101T000001Z_aaaaaa",
    });
    lock.release();

    writeFileSync(file, "");
    PipelineLock.acquire(dir, "events", holder("20260101T000002Z_bbbbbb")).release();
    expect(existsSync(file)).toBe(false);
  });

  it("never takes over a lock held on another host", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-lock-"));
    mkdirSync(join(dir, "locks"));
    const other = { pid: 1, host: `${hostname()}-elsewhere`, ...holder("20260101T000000Z_remote") };
    writeFileSync(join(dir, "locks", "events.lock"), JSON.stringify(other));
    expect(() => PipelineLock.acquire(dir, "events", holder("20260101T000001Z_aaaaaa"))).toThrow(
      /already running: run 20260101T000000Z_remote/,
    );
  });
});
