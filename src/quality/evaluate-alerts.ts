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
  "failed",
] as const;

/**
 * Evaluates alert rules against a finished run. `failedOnly` evaluates only
 * the `failed` metric (a failed run has no trustworthy quality metrics).
 *
 * A rule fires when the value is strictly below `below` or strictly above
 * `above`. A metric without a value (row_count_delta on a first run, a
 * column the run did not write) fires nothing; `alertRuleProblems` says why.
 * `row_count_delta` is compared by magnitude: `above: 0.5` fires on +60 % and
 * on -60 %. `duration_ms` is measured up to now when the record is not
 * finished yet (the runner evaluates alerts before it sets finished_at).
 */
export function evaluateAlerts(
  rules: readonly AlertConfig[],
  record: RunRecord,
  opts: { failedOnly: boolean },
): FiredAlert[] {
  const fired: FiredAlert[] = [];
  for (const rule of rules) {
    if (opts.failedOnly !== (rule.metric === "failed")) continue;
    const value = metricValue(record, rule.metric);
    if (value === undefined || value === null || Number.isNaN(value)) continue;
    if (rule.below !== undefined && value < rule.below) {
      fired.push({
        metric: rule.metric,
        value,
        rule: `below ${rule.below}`,
        message: `${record.pipeline}: ${describe(rule.metric, shown(record, rule.metric, value), rule.below)} is below ${rule.below} (run ${record.run_id})`,
      });
    }
    if (rule.above !== undefined && value > rule.above) {
      fired.push({
        metric: rule.metric,
        value,
        rule: `above ${rule.above}`,
        message: `${record.pipeline}: ${describe(rule.metric, shown(record, rule.metric, value), rule.above)} is above ${rule.above} (run ${record.run_id})`,
      });
    }
  }
  return fired;
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
    const [head, col] = splitMetric(rule.metric);
    const known = ALERT_METRICS.some((m) => m === head || m === `${head}.COL`);
    if (!known || ((head === "null_rate" || head === "unique") && !col)) {
      problems.push(`alert on \`${rule.metric}\`: unknown metric (one of ${ALERT_METRICS.join(", ")})`);
      continue;
    }
    if (rule.below === undefined && rule.above === undefined) {
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

/** Reads `validation_pass_rate`, `null_rate.COL`, `unique.COL`, `duration_ms`, `failed` off a record. */
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
