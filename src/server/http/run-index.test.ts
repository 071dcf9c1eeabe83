import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../../plan/run-record.js";
import { RunIndex, type RunSummary } from "./run-index.js";

function record(pipeline: string, minute: number, status: RunRecord["status"] = "succeeded"): RunRecord {
  const started = new Date(Date.UTC(2026, 0, 1, 0, minute));
  const id = `${started.toISOString().slice(0, 19).replace(/[-:]/g, "")}Z_${minute.toString(16).padStart(6, "0")}`;
  return {
    run_id: id,
    pipeline,
    status,
    processing_type: "batch",
    started_at: started.toISOString(),
    finished_at: new Date(started.getTime() + 1500).toISOString(),
    attempts: 1,
    source: "test",
    rows: { extracted: 10, filtered: 0, valid: 9, quarantined: 1, duplicates: 0, duplicates_dropped: 0, written: 9 },
    outputs: [],
    durations_ms: { extract: 1 },
    metrics: { validation_pass_rate: 0.9, null_rate: { a: 0.1 }, unique: {}, row_count_delta: null, duplicate_rate: 0 },
    alerts: [],
    warnings: [],
  };
}

function save(dataDir: string, r: RunRecord, text = JSON.stringify(r)): string {
  const dir = join(dataDir, "runs", r.pipeline);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${r.run_id}.json`);
  writeFileSync(file, text);
  return file;
}

describe("RunIndex", () => {
  it("indexes the ledger incrementally: only new files are parsed, each summary announced once, in order", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-run-index-"));
    const first = save(dataDir, record("a", 2));
    save(dataDir, record("a", 1, "failed"));
    save(dataDir, record("b", 3));
    const index = new RunIndex(dataDir);
    index.refresh();
    const seen: RunSummary[] = [];
    index.onAdd((r) => seen.push(r));
    expect(seen.map((r) => `${r.pipeline}:${r.status}`)).toEqual(["a:failed", "a:succeeded", "b:succeeded"]);
    expect(seen[0]).toMatchObject({ duration_ms: 1500, pass_rate: 0.9, null_rate: { a: 0.1 } });

    // A file already indexed is not read again (here: made unreadable as JSON), new ones are.
    writeFileSync(first, "{ not json");
    save(dataDir, record("a", 0));
    save(dataDir, record("b", 4, "validation_failed"));
    const future = new Date(Date.now() + 10_000);
    utimesSync(join(dataDir, "runs", "a"), future, future);
    index.refresh();
    expect(seen).toHaveLength(5);
    expect(index.list({ pipeline: "a" }).map((r) => r.started_at.slice(11, 16))).toEqual(["00:00", "00:01", "00:02"]);
    expect(index.list().map((r) => r.pipeline)).toEqual(["a", "a", "a", "b", "b"]);
    expect(index.list({ status: "succeeded", from: "2026-01-01T00:01" }).map((r) => r.run_id)).toEqual([
      record("a", 2).run_id,
      record("b", 3).run_id,
    ]);
    expect(index.latest("b")).toMatchObject({
      last: { status: "validation_failed" },
      lastSuccess: { status: "succeeded" },
    });
    expect(index.has("a", record("a", 0).run_id)).toBe(true);
    expect(index.record("a", record("a", 0).run_id)?.source).toBe("test");
    expect(index.record("../a", "x")).toBeUndefined();
  });

  it("skips a file that does not parse and reads it at a later refresh", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-run-index-"));
    const r = record("a", 5);
    const file = save(dataDir, r, "{ half");
    const index = new RunIndex(dataDir);
    index.refresh();
    expect(index.list()).toEqual([]);
    writeFileSync(file, JSON.stringify(r));
    index.refresh();
    expect(index.list().map((x) => x.run_id)).toEqual([r.run_id]);
  });
});
