import type { AlertConfig } from "../config/spec.js";
import type { FiredAlert, RunRecord } from "../plan/run-record.js";

/** Metric names an alert rule may use (`null_rate.COL` and `unique.COL` name a column). */
export const ALERT_METRICS = [
  "validation_pass_rate",
  "row_count_delta",
  "duplicate_rate",
  "null_rate.COL",
  "unique.COL",
  "duration_ms",
  "duration_seconds",
  "failed",
  "success_rate",
] as const;

/** Metrics about the run itself, evaluated for every run; the others only for a succeeded run. */
const RUN_METRICS = new Set(["failed", "success_rate", "duration_ms", "duration_seconds"]);

/** success_rate's default window (runs). */
export const SUCCESS_RATE_WINDOW = 10;

/** One rule judged on one run: `fired` when it crossed its threshold, absent when it held. */
export interface EvaluatedRule {
  readonly rule: AlertConfig;
  /** Names the rule within its pipeline (the incident's identity): `failed above 0`, `success_rate below 0.8 window 10`. */
  readonly key: string;
  readonly fired?: FiredAlert;
}

/**
 * Judges every rule that applies to a finished run: run metrics (`failed`, `success_rate`,
 * `duration_ms`, `duration_seconds`) on every run, quality metrics only on a succeeded run (a
 * failed run has no trustworthy quality metrics). A rule whose metric has no value (row_count_delta
 * on a first run, success_rate without `history`, a column the run did not write) is not judged:
 * it neither fires nor holds, so an incident it opened stays open. Freshness rules are judged on a
 * clock (`checkFreshness`), never here.
 *
 * A rule fires when the value is strictly below `below` or strictly above `above`; `failed` without
 * a threshold means `above: 0`. `row_count_delta` is compared by magnitude. `duration_ms` is
 * measured up to now when the record is not finished yet. `history`: the pipeline's latest runs,
 * oldest first, this one included (success_rate's window is taken from its end).
 */
export function evaluateRules(
  rules: readonly AlertConfig[],
  record: RunRecord,
  opts: { history?: readonly Pick<RunRecord, "status">[] } = {},
): EvaluatedRule[] {
  const judged: EvaluatedRule[] = [];
  for (const rule of rules) {
    const metric = rule.metric;
    if (metric === undefined) continue;
    if (!RUN_METRICS.has(metric) && record.status !== "succeeded") continue;
    const { below, above } = thresholds(rule);
    if (below === undefined && above === undefined) continue;
    const value =
      metric === "success_rate"
        ? successRate(opts.history, rule.window ?? SUCCESS_RATE_WINDOW)
        : metricValue(record, metric);
    if (value === undefined || value === null || Number.isNaN(value)) continue;
    const key = ruleKey(rule);
    const fire = (limit: number, word: "below" | "above"): FiredAlert => ({
      metric,
      value,
      rule: `${word} ${limit}`,
      message: `${record.pipeline}: ${describe(metric, shown(record, metric, value), limit)} is ${word} ${limit}${metric === "success_rate" ? ` over the last ${rule.window ?? SUCCESS_RATE_WINDOW} runs` : ""} (run ${record.run_id})`,
    });
    if (below !== undefined && value < below) judged.push({ rule, key, fired: fire(below, "below") });
    else if (above !== undefined && value > above) judged.push({ rule, key, fired: fire(above, "above") });
    else judged.push({ rule, key });
  }
  return judged;
}

/**
 * The alerts a finished run fires (see evaluateRules). `failedOnly`: only the run metrics (the
 * record of a run that did not succeed).
 */
export function evaluateAlerts(
  rules: readonly AlertConfig[],
  record: RunRecord,
  opts: { failedOnly: boolean; history?: readonly Pick<RunRecord, "status">[] },
): FiredAlert[] {
  return evaluateRules(rules, record, opts).flatMap((j) =>
    j.fired && (!opts.failedOnly || RUN_METRICS.has(j.fired.metric)) ? [j.fired] : [],
  );
}

/** A rule's identity within its pipeline: metric, thresholds, window. */
export function ruleKey(rule: AlertConfig): string {
  if (rule.freshness) {
    const f = rule.freshness;
    return `freshness ${f.sink ?? "*"} ${f.column ?? "*"} ${f.partition} by ${f.by} ${f.timezone}`;
  }
  const { below, above } = thresholds(rule);
  return [
    rule.metric,
    below !== undefined ? `below ${below}` : "",
    above !== undefined ? `above ${above}` : "",
    rule.metric === "success_rate" ? `window ${rule.window ?? SUCCESS_RATE_WINDOW}` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

/** below/above as configured; `failed` alone means above 0. */
function thresholds(rule: AlertConfig): { below?: number; above?: number } {
  if (rule.metric === "failed" && rule.below === undefined && rule.above === undefined) return { above: 0 };
  return {
    ...(rule.below !== undefined ? { below: rule.below } : {}),
    ...(rule.above !== undefined ? { above: rule.above } : {}),
  };
}

/** Succeeded runs / runs over the last `window` of `history`; undefined without one. */
function successRate(history: readonly Pick<RunRecord, "status">[] | undefined, window: number): number | undefined {
  const runs = history?.slice(-window) ?? [];
  if (runs.length === 0) return undefined;
  return runs.filter((r) => r.status === "succeeded").length / runs.length;
}

/**
 * Rules that can never fire as written, as warnings for the run record:
 * unknown metric names, no threshold, or a column the run's metrics do not
 * have (a typo in `null_rate.experimentPhse`). Checked against a succeeded
 * run's record, whose metrics list every written column.
 */
export function alertRuleProblems(rules: readonly AlertConfig[], record: RunRecord): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    if (rule.metric === undefined) continue;
    const [head, col] = splitMetric(rule.metric);
    const known = ALERT_METRICS.some((m) => m === head || m === `${head}.COL`);
    if (!known || ((head === "null_rate" || head === "unique") && !col)) {
      problems.push(`alert on \`${rule.metric}\`: unknown metric (one of ${ALERT_METRICS.join(", ")})`);
      continue;
    }
    if (rule.below === undefined && rule.above === undefined && rule.metric !== "failed") {
      problems.push(`alert on \`${rule.metric}\` has neither \`below\` nor \`above\`: it never fires`);
      continue;
    }
    if (record.status !== "succeeded" || !col) continue;
    const have = head === "null_rate" ? record.metrics.null_rate : record.metrics.unique;
    if (head === "null_rate" && Object.keys(have).length === 0) continue; // no rows written: nothing to compare
    if (!(col in have)) {
      problems.push(
        `alert on \`${rule.metric}\`: the run wrote no column \`${col}\`${Object.keys(have).length ? ` (${head} has: ${Object.keys(have).join(", ")})` : ""}`,
      );
    }
  }
  return problems;
}

/** Reads `validation_pass_rate`, `null_rate.COL`, `unique.COL`, `duration_ms`, `duration_seconds`, `failed` off a record. */
export function metricValue(record: RunRecord, metric: string): number | null | undefined {
  const [head, col] = splitMetric(metric);
  const m = record.metrics;
  switch (head) {
    case "validation_pass_rate":
      return m.validation_pass_rate;
    case "row_count_delta":
      return m.row_count_delta === null ? null : Math.abs(m.row_count_delta);
    case "duplicate_rate":
      return m.duplicate_rate;
    case "null_rate":
      return col ? m.null_rate[col] : undefined;
    case "unique":
      return col ? m.unique[col] : undefined;
    case "duration_ms": {
      const start = Date.parse(record.started_at);
      const end = Date.parse(record.finished_at);
      return (end > start ? end : Date.now()) - start;
    }
    case "duration_seconds": {
      const ms = metricValue(record, "duration_ms");
      return ms == null ? ms : ms / 1000;
    }
    case "failed":
      return record.status === "succeeded" ? 0 : 1;
    default:
      return undefined;
  }
}

function splitMetric(metric: string): [string, string | undefined] {
  const dot = metric.indexOf(".");
  return dot < 0 ? [metric, undefined] : [metric.slice(0, dot), metric.slice(dot + 1)];
}

/** The value as the record holds it: row_count_delta is compared by magnitude but shown signed. */
function shown(record: RunRecord, metric: string, value: number): number {
  return metric === "row_count_delta" && record.metrics.row_count_delta !== null
    ? record.metrics.row_count_delta
    : value;
}

/**
 * `null_rate.x = 0.9312`: rates with 4 significant digits, counts as integers; more digits when 4
 * would print the threshold itself (`0.50004 is above 0.5`, never `0.5 is above 0.5`).
 */
function describe(metric: string, value: number, threshold: number): string {
  const text = (v: number) => {
    if (Number.isInteger(v)) return String(v);
    let digits = 4;
    let out = String(Number(v.toPrecision(digits)));
    while (Number(out) === threshold && digits < 17) out = String(Number(v.toPrecision(++digits)));
    return out;
  };
  // row_count_delta is compared by magnitude: a negative change says so.
  const magnitude = metric === "row_count_delta" && value < 0 ? ` (magnitude ${text(-value)})` : "";
  return `${metric} = ${text(value)}${magnitude}`;
}
