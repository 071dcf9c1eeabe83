import type { AlertConfig } from "../config/spec.js";
import type { FiredAlert, RunRecord } from "../plan/run-record.js";
import { redactSecrets } from "../util/redact.js";

/**
 * Delivers fired alerts to the webhooks of the rules that fired them
 * (SPEC section 10): one POST per alert with a Slack-compatible JSON body
 * (`text`, plus the alert and run fields for other receivers).
 *
 * Contract: never throws and never fails the run — an unreachable or
 * refusing webhook becomes a warning (for the run record and the log), with
 * only the URL's origin shown (a webhook's path is often its secret). Each POST times out after `timeoutMs`. Call after
 * `evaluateAlerts`, with its result.
 */
export async function sendAlertWebhooks(
  rules: readonly AlertConfig[],
  fired: readonly FiredAlert[],
  record: Pick<RunRecord, "run_id" | "pipeline" | "status">,
  opts: { timeoutMs?: number } = {},
): Promise<string[]> {
  const deliveries = fired.flatMap((alert) =>
    rules
      .filter((r) => r.webhook && r.metric === alert.metric && alertRule(r).includes(alert.rule))
      .map((r) => ({ url: r.webhook!, alert })),
  );
  const warnings = await Promise.all(
    deliveries.map(async ({ url, alert }) => {
      const body = {
        text: `:rotating_light: ${alert.message}`,
        pipeline: record.pipeline,
        run_id: record.run_id,
        status: record.status,
        metric: alert.metric,
        value: alert.value,
        rule: alert.rule,
      };
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
        });
        if (!res.ok) return `alert webhook ${shown(url)} answered ${res.status} ${res.statusText}`;
        return undefined;
      } catch (err) {
        const cause = (err as Error & { cause?: Error }).cause?.message;
        return `alert webhook ${shown(url)} could not be reached: ${redactSecrets(cause ?? (err as Error).message)}`;
      }
    }),
  );
  return warnings.filter((w): w is string => w !== undefined);
}

/** A webhook URL's path is often its secret (Slack): show the origin only. */
function shown(url: string): string {
  try {
    return `${new URL(url).origin}/...`;
  } catch {
    return "(invalid URL)";
  }
}

/** The `rule` texts a config rule produces in FiredAlert (`below 1`, `above 0.5`). */
function alertRule(rule: AlertConfig): string[] {
  return [
    ...(rule.below !== undefined ? [`below ${rule.below}`] : []),
    ...(rule.above !== undefined ? [`above ${rule.above}`] : []),
  ];
}
