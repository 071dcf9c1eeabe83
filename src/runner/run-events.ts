import type { AlertConfig } from "../config/spec.js";
import { asSluiceError } from "../errors.js";
import type { FiredAlert, RunRecord } from "../plan/run-record.js";
import { alertRuleProblems, evaluateAlerts } from "../quality/evaluate-alerts.js";
import { sendAlertWebhooks } from "../quality/send-alert-webhooks.js";
import type { Logger } from "../util/logger.js";
import type { Ledger } from "./ledger.js";

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

/** Fires the alert rules on the record (only `failed` for a run that did not succeed) and logs them. */
export function alertsObserver(rules: readonly AlertConfig[], log: Logger): RunObserver {
  return {
    async runEnded(record) {
      const succeeded = record.status === "succeeded";
      record.alerts.push(...evaluateAlerts(rules, record, { failedOnly: !succeeded }));
      if (succeeded) record.warnings.push(...alertRuleProblems(rules, record));
      for (const a of record.alerts) log.warn(`alert: ${a.message}`);
    },
  };
}

/**
 * Delivers fired alerts to their webhooks, once per condition while it holds: an alert that fired
 * for the previous run this observer saw is not sent again until a run where it did not fire (a
 * stream must not POST once per micro-batch for a condition that lasts). A `sluice run` process
 * sees one run, so every run's alerts are sent.
 */
export function webhooksObserver(rules: readonly AlertConfig[], log: Logger): RunObserver {
  let firing = new Set<string>();
  const id = (a: FiredAlert) => `${a.metric} ${a.rule}`;
  return {
    async runEnded(record) {
      const fresh = record.alerts.filter((a) => !firing.has(id(a)));
      firing = new Set(record.alerts.map(id));
      for (const w of await sendAlertWebhooks(rules, fresh, record)) {
        record.warnings.push(w);
        log.warn(w);
      }
    },
  };
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
