import { ExponentialBackoff, handleWhen, retry } from "cockatiel";
import { redactSecrets } from "../util/redact.js";
import type { Incident, PendingNotification } from "./alert-incidents.js";

/** How notifications are delivered (`alerting:` in the config). */
export interface DeliveryOptions {
  /** Attempts per notification (1 = no retry). */
  readonly attempts: number;
  /** First backoff; doubles per attempt (decorrelated jitter), at most 30 s. */
  readonly backoffMs: number;
  readonly timeoutMs: number;
}

/** Alertmanager's zero time: `endsAt` of an alert that is still firing. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * The JSON body of one notification: Slack-compatible (`text`) and shaped like an Alertmanager
 * webhook (version 4: `status` firing|resolved, `alerts[]` with `labels`, `annotations`,
 * `startsAt`, `endsAt`, `fingerprint`), with the same fields at the top level for simple receivers,
 * plus sluice's own (`pipeline`, `run_id`, `metric`, `value`, `rule`, `count`).
 */
export function notificationBody(status: "firing" | "resolved", incident: Incident): Record<string, unknown> {
  const labels = {
    alertname: `sluice_${incident.metric.replace(/[^A-Za-z0-9_]/g, "_")}`,
    pipeline: incident.pipeline,
    metric: incident.metric,
    rule: incident.rule,
  };
  const annotations = { summary: incident.message };
  const endsAt = status === "resolved" ? (incident.endsAt ?? ZERO_TIME) : ZERO_TIME;
  const alert = { status, labels, annotations, startsAt: incident.startsAt, endsAt, fingerprint: incident.fingerprint };
  const text =
    status === "firing"
      ? `:rotating_light: [FIRING] ${incident.message}`
      : `:white_check_mark: [RESOLVED] ${incident.pipeline}: ${incident.rule} holds again (since ${incident.startsAt}, fired ${incident.count} time${incident.count === 1 ? "" : "s"})`;
  return {
    text,
    version: "4",
    receiver: "sluice",
    groupKey: incident.fingerprint,
    status,
    alerts: [alert],
    groupLabels: { pipeline: incident.pipeline },
    commonLabels: labels,
    commonAnnotations: annotations,
    fingerprint: incident.fingerprint,
    startsAt: incident.startsAt,
    endsAt,
    labels,
    annotations,
    pipeline: incident.pipeline,
    ...(incident.run_id ? { run_id: incident.run_id } : {}),
    metric: incident.metric,
    value: incident.value,
    rule: incident.rule,
    count: incident.count,
  };
}

class RetryableDelivery extends Error {}

/**
 * POSTs each notification to its URL (all at once), retrying a failure that may pass (no
 * connection, timeout, 408, 429, 5xx) `attempts` times in all with exponential backoff (cockatiel);
 * another 4xx is not retried. Never throws: returns the notifications still undelivered (for the
 * outbox) and one warning each, showing only the URL's origin (a webhook's path is often its secret).
 */
export async function deliverNotifications(
  notifications: readonly PendingNotification[],
  opts: DeliveryOptions,
): Promise<{ failed: PendingNotification[]; warnings: string[] }> {
  const policy = retry(
    handleWhen((e) => e instanceof RetryableDelivery),
    {
      maxAttempts: Math.max(opts.attempts - 1, 0),
      backoff: new ExponentialBackoff({ initialDelay: Math.max(opts.backoffMs, 1), maxDelay: 30_000 }),
    },
  );
  const outcomes = await Promise.all(
    notifications.map(async (n) => {
      try {
        await policy.execute(() => post(n, opts.timeoutMs));
        return undefined;
      } catch (err) {
        return { n, warning: `alert webhook ${shown(n.url)}: ${(err as Error).message}` };
      }
    }),
  );
  const failed = outcomes.filter((o) => o !== undefined);
  return { failed: failed.map((o) => o.n), warnings: failed.map((o) => o.warning) };
}

async function post(n: PendingNotification, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(n.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(notificationBody(n.status, n.incident)),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message;
    throw new RetryableDelivery(`could not be reached: ${redactSecrets(cause ?? (err as Error).message)}`);
  }
  if (res.ok) return;
  const why = `answered ${res.status} ${res.statusText}`;
  if (res.status === 408 || res.status === 429 || res.status >= 500) throw new RetryableDelivery(why);
  throw new Error(why);
}

/** A webhook URL's path is often its secret (Slack): show the origin only. */
function shown(url: string): string {
  try {
    return `${new URL(url).origin}/...`;
  } catch {
    return "(invalid URL)";
  }
}
