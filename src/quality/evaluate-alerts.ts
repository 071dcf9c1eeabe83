import type { AlertConfig } from "../config/spec.js";
import type { FiredAlert, RunRecord } from "../runner/run-record.js";

/**
 * Evaluates alert rules against a finished run. `failedOnly` evaluates only
 * the `failed` metric (a failed run has no trustworthy quality metrics).
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
    if (value === undefined) continue;
    if (rule.below !== undefined && value !== null && value < rule.below) {
      fired.push({
        metric: rule.metric,
        value,
        rule: `below ${rule.below}`,
        message: `${record.pipeline}: ${rule.metric} = ${value} is below ${rule.below}`,
      });
    }
    if (rule.above !== undefined && value !== null && value > rule.above) {
      fired.push({
        metric: rule.metric,
        value,
        rule: `above ${rule.above}`,
        message: `${record.pipeline}: ${rule.metric} = ${value} is above ${rule.above}`,
      });
    }
  }
  return fired;
}

/** Reads `validation_pass_rate`, `null_rate.COL`, `unique.COL`, `duration_ms`, `failed` off a record. */
export function metricValue(record: RunRecord, metric: string): number | null | undefined {
  const [head, col] = metric.split(/\.(.+)/);
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
    case "duration_ms":
      return Date.parse(record.finished_at) - Date.parse(record.started_at);
    case "failed":
      return record.status === "succeeded" ? 0 : 1;
    default:
      return undefined;
  }
}
