import type { AlertingConfig } from "../config/alert-spec.js";
import type { AlertConfig } from "../config/spec.js";
import { type Incident, IncidentStore, type PendingNotification } from "../quality/alert-incidents.js";
import { deliverNotifications } from "../quality/send-alert-webhooks.js";
import type { Logger } from "../util/logger.js";

/** One rule judged by a run or a freshness check, with the rule (for its webhook). */
export interface JudgedRule {
  readonly rule: AlertConfig;
  readonly key: string;
  readonly metric: string;
  readonly fired?: { readonly value: number | null; readonly message: string };
}

/** What one evaluation changed: incidents that started and resolved, and delivery warnings. */
export interface AlertChanges {
  readonly opened: Incident[];
  readonly resolved: Incident[];
  readonly warnings: string[];
}

/**
 * Turns one evaluation of a pipeline's rules into incident changes (IncidentStore, persisted under
 * data_dir/alerts) and notifies each change once: to the log (an incident that starts is a
 * warning, one that resolves an info line), and to the webhooks (`alerting.webhooks` plus the
 * rule's own `webhook`), firing when it starts and resolved when it ends, with retries; what still
 * fails stays in the pipeline's outbox and is tried again at its next evaluation. Never throws for
 * a delivery; the warnings are returned for the run record.
 */
export async function notifyAlerts(
  dataDir: string,
  alerting: AlertingConfig,
  pipeline: string,
  judged: readonly JudgedRule[],
  now: Date,
  log: Logger,
  runId?: string,
): Promise<AlertChanges> {
  if (judged.length === 0) return { opened: [], resolved: [], warnings: [] };
  const store = new IncidentStore(dataDir);
  const { opened, resolved, retry } = store.update(pipeline, judged, now, runId);
  const urlsOf = (incident: Incident): string[] => {
    const rule = judged.find((j) => j.key === incident.rule)?.rule;
    return [...new Set([...alerting.webhooks, ...(rule?.webhook ? [rule.webhook] : [])])];
  };
  const since = now.toISOString();
  const notifications: PendingNotification[] = [...retry];
  for (const incident of opened) {
    log.warn(`alert firing: ${incident.message} [${incident.fingerprint}]`);
    for (const url of urlsOf(incident)) notifications.push({ url, status: "firing", incident, since });
  }
  for (const incident of resolved) {
    log.info(`alert resolved: ${incident.pipeline}: ${incident.rule} (firing since ${incident.startsAt})`);
    for (const url of urlsOf(incident)) notifications.push({ url, status: "resolved", incident, since });
  }
  if (notifications.length === 0) return { opened, resolved, warnings: [] };
  const { failed, warnings } = await deliverNotifications(notifications, {
    attempts: alerting.retries.attempts,
    backoffMs: alerting.retries.backoff_ms,
    timeoutMs: alerting.timeout_ms,
  });
  try {
    store.requeue(pipeline, failed);
  } catch (err) {
    warnings.push(`could not keep ${failed.length} undelivered alert notification(s): ${(err as Error).message}`);
  }
  for (const w of warnings) log.warn(w);
  return { opened, resolved, warnings };
}
