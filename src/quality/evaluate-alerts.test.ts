import { describe, expect, it } from "vitest";
import type { AlertConfig } from "../config/spec.js";
import type { RunRecord } from "../plan/run-record.js";
import { alertRuleProblems, evaluateAlerts, evaluateRules } from "./evaluate-alerts.js";

function record(over: Partial<RunRecord> = {}): RunRecord {
  return {
    run_id: "r1",
    pipeline: "events",
    status: "succeeded",
    processing_type: "batch",
    started_at: "2026-01-01T00:00:00.000Z",
    finished_at: "2026-01-01T00:00:05.000Z",
    attempts: 1,
    source: "x",
    rows: {
      extracted: 100,
      filtered: 0,
      valid: 97,
      quarantined: 3,
      duplicates: 10,
      duplicates_dropped: 10,
      written: 87,
    },
    outputs: [],
    durations_ms: {},
    metrics: {
      validation_pass_rate: 0.97,
      null_rate: { experimentPhase: 0.95, userId: 0 },
      unique: { userId: 3 },
      row_count_delta: -0.6,
      duplicate_rate: 0.1,
    },
    alerts: [],
    warnings: [],
    ...over,
  };
}

const rules: AlertConfig[] = [
  { metric: "validation_pass_rate", below: 1 },
  { metric: "row_count_delta", above: 0.5 },
  { metric: "null_rate.experimentPhase", above: 0.9 },
  { metric: "unique.userId", below: 5 },
  { metric: "duplicate_rate", above: 0.2 },
  { metric: "duration_ms", above: 4000 },
  { metric: "failed", above: 0 },
];

describe("evaluateAlerts", () => {
  it("fires the rules a succeeded run crosses, with a readable message", () => {
    const fired = evaluateAlerts(rules, record(), { failedOnly: false });
    expect(fired.map((a) => `${a.metric} ${a.rule} ${a.value}`)).toEqual([
      "validation_pass_rate below 1 0.97",
      "row_count_delta above 0.5 0.6",
      "null_rate.experimentPhase above 0.9 0.95",
      "unique.userId below 5 3",
      "duration_ms above 4000 5000",
    ]);
    expect(fired[1]!.message).toBe("events: row_count_delta = -0.6 (magnitude 0.6) is above 0.5 (run r1)");
  });

  it("prints the signed value, with the digits that tell it from the threshold", () => {
    const at = (delta: number, pass: number) =>
      evaluateAlerts(
        [
          { metric: "row_count_delta", above: 0.5 },
          { metric: "validation_pass_rate", below: 1 },
        ],
        record({ metrics: { ...record().metrics, row_count_delta: delta, validation_pass_rate: pass } }),
        { failedOnly: false },
      ).map((a) => a.message);
    expect(at(-1, 0.999_999)).toEqual([
      "events: row_count_delta = -1 (magnitude 1) is above 0.5 (run r1)",
      "events: validation_pass_rate = 0.999999 is below 1 (run r1)",
    ]);
    expect(at(0.500_04, 1)).toEqual(["events: row_count_delta = 0.50004 is above 0.5 (run r1)"]);
  });

  it("a failed run fires only the run metrics (failed, duration); a first run has no row_count_delta", () => {
    const failed = record({ status: "failed" });
    expect(evaluateAlerts(rules, failed, { failedOnly: true }).map((a) => a.metric)).toEqual(["duration_ms", "failed"]);
    const first = record({ metrics: { ...record().metrics, row_count_delta: null } });
    expect(evaluateAlerts(rules, first, { failedOnly: false }).map((a) => a.metric)).not.toContain("row_count_delta");
  });

  it("measures duration up to now while the record is not finished", () => {
    const started = new Date(Date.now() - 10_000).toISOString();
    const open = record({ started_at: started, finished_at: started });
    const [a] = evaluateAlerts([{ metric: "duration_ms", above: 5000 }], open, { failedOnly: false });
    expect(a?.value).toBeGreaterThanOrEqual(10_000);
  });
});

describe("evaluateRules", () => {
  it("judges success_rate over the window, `failed` alone as above 0, duration_seconds; quality rules hold on failure", () => {
    const history = (["succeeded", "failed", "failed", "succeeded", "failed"] as const).map((status) => ({ status }));
    const failed = record({ status: "failed" });
    const judged = evaluateRules(
      [
        { metric: "success_rate", below: 0.5, window: 4 },
        { metric: "success_rate", below: 0.2 },
        { metric: "failed" },
        { metric: "duration_seconds", above: 4 },
        { metric: "validation_pass_rate", below: 1 },
      ],
      failed,
      { history },
    );
    expect(judged.map((j) => [j.key, j.fired?.value ?? "held"])).toEqual([
      ["success_rate below 0.5 window 4", 0.25],
      ["success_rate below 0.2 window 10", "held"],
      ["failed above 0", 1],
      ["duration_seconds above 4", 5],
    ]);
    expect(judged[0]!.fired!.message).toBe("events: success_rate = 0.25 is below 0.5 over the last 4 runs (run r1)");
    // Without history success_rate is not judged: an incident it opened stays open.
    expect(evaluateRules([{ metric: "success_rate", below: 0.5 }], failed)).toEqual([]);
  });
});

describe("alertRuleProblems", () => {
  it("names rules that can never fire", () => {
    const problems = alertRuleProblems(
      [
        { metric: "null_rate.experimentPhse", above: 0.9 },
        { metric: "pass_rate", below: 1 },
        { metric: "unique.userId" },
        { metric: "unique.userId", below: 2 },
      ],
      record(),
    );
    expect(problems).toEqual([
      "alert on `null_rate.experimentPhse`: the run wrote no column `experimentPhse` (null_rate has: experimentPhase, userId)",
      expect.stringContaining("alert on `pass_rate`: unknown metric"),
      "alert on `unique.userId` has neither `below` nor `above`: it never fires",
    ]);
  });
});
