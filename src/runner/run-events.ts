import type { AlertingConfig } from "../config/alert-spec.js";
import type { AlertConfig } from "../config/spec.js";
import { asSluiceError } from "../errors.js";
import type { RunRecord } from "../plan/run-record.js";
import { fingerprintOf, type Incident, IncidentStore } from "../quality/alert-incidents.js";
import { alertRuleProblems, evaluateRules, SUCCESS_RATE_WINDOW } from "../quality/evaluate-alerts.js";
import type { Logger } from "../util/logger.js";
import type { Ledger } from "./ledger.js";
import { notifyAlerts } from "./notify-alerts.js";

/**
 * Something that watches runs end: the alert rules, the webhooks, the ledger (later /metrics and
 * the dashboard). Drivers announce each finished run (a `sluice run`, one micro-batch of a stream)
 * and never call these parts themselves. Observers run in the order given and may add to the
 * record (alerts, warnings) before the ones after them see it.
 */
export interface RunObserver {
  runEnded(record: RunRecord): Promise<void>;
}

/** Announces finished runs to the observers in order. */
export class RunEvents {
  constructor(private readonly observers: readonly RunObserver[]) {}

  async ended(record: RunRecord): Promise<void> {
    for (const o of this.observers) await o.runEnded(record);
  }
}

/**
 * Fires the alert rules on the record (quality rules only for a succeeded run; `failed`,
 * `success_rate`, `duration_*` for every run), logs them, and turns them into incidents
 * (notify-alerts.ts): a webhook hears once when an incident starts and once when it resolves, not
 * once per run while it holds, across processes (the state is under data_dir/alerts). The record
 * gets the fired alerts (with their incident's fingerprint and start) and `alerts_resolved`.
 * success_rate reads the pipeline's latest runs from the ledger (only when a rule uses it).
 */
export function alertsObserver(
  rules: readonly AlertConfig[],
  log: Logger,
  env: { dataDir: string; alerting: AlertingConfig; ledger: Ledger },
): RunObserver {
  const window = Math.max(
    0,
    ...rules.filter((r) => r.metric === "success_rate").map((r) => r.window ?? SUCCESS_RATE_WINDOW),
  );
  return {
    async runEnded(record) {
      const succeeded = record.status === "succeeded";
      const history = window > 0 ? [...env.ledger.recent(record.pipeline, window - 1), record] : undefined;
      const judged = evaluateRules(rules, record, history ? { history } : {});
      const fired = judged.flatMap((j) => (j.fired ? [j.fired] : []));
      record.alerts.push(...fired);
      if (succeeded) record.warnings.push(...alertRuleProblems(rules, record));
      for (const a of record.alerts) log.warn(`alert: ${a.message}`);
      const changes = await notifyAlerts(
        env.dataDir,
        env.alerting,
        record.pipeline,
        judged.map((j) => ({ ...j, metric: j.rule.metric ?? "freshness" })),
        new Date(record.finished_at),
        log,
        record.run_id,
      ).catch((err: Error) => ({ opened: [], resolved: [], warnings: [`alert incidents: ${err.message}`] }));
      const open = changes.opened.length || fired.length ? openIncidents(env.dataDir, record.pipeline) : [];
      for (const j of judged) {
        if (!j.fired) continue;
        const fingerprint = fingerprintOf(record.pipeline, j.key);
        const since = open.find((i) => i.fingerprint === fingerprint)?.startsAt;
        Object.assign(j.fired, { fingerprint, ...(since ? { since } : {}) });
      }
      if (changes.resolved.length)
        record.alerts_resolved = changes.resolved.map((i) => ({
          fingerprint: i.fingerprint,
          metric: i.metric,
          rule: i.rule,
          since: i.startsAt,
        }));
      record.warnings.push(...changes.warnings);
    },
  };
}

function openIncidents(dataDir: string, pipeline: string): Incident[] {
  try {
    return new IncidentStore(dataDir).open([pipeline]);
  } catch {
    return [];
  }
}

/**
 * Saves the record. One that cannot be written (disk full) must not hide the run's outcome: the
 * failure is logged with the path and set on the record, whose status becomes failed, so the
 * driver does not move the state without a record.
 */
export function ledgerObserver(ledger: Ledger, log: Logger): RunObserver {
  return {
    async runEnded(record) {
      try {
        ledger.save(record);
      } catch (err) {
        const { message, hint } = asSluiceError(err, "ledger", "record");
        log.error(`could not write the run record to ${ledger.fileOf(record)}: ${message}${hint ? ` (${hint})` : ""}`);
        record.status = "failed";
        record.error ??= {
          message: `could not write the run record: ${message}`,
          component: "ledger",
          stage: "record",
        };
        delete record.state;
      }
    },
  };
}
