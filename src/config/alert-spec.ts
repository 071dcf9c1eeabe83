import { z } from "zod";

/**
 * Freshness (SPEC section 10, issue 13): "yesterday's partition not present by 08:00". Checked on a
 * clock (`sluice alerts`, `sluice serve`), not at run end.
 */
export const freshnessSpec = z
  .strictObject({
    sink: z
      .string()
      .optional()
      .describe("The parquet sink's `path` whose partitions are checked; default: the first partitioned one."),
    column: z
      .string()
      .optional()
      .describe("Date partition column; default: the sink's first `partition_by` column naming a date (event_date)."),
    partition: z.enum(["yesterday", "today"]).default("yesterday").describe("Which day's partition must be present."),
    by: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: "expected HH:MM (24 h), e.g. 08:00" })
      .default("08:00")
      .describe("Local time (in `timezone`) by which the partition must be present."),
    timezone: z.string().default("UTC").describe("IANA time zone of the day and of `by`, e.g. Europe/Berlin."),
  })
  .describe("Fires when a day's partition is still missing at a time of day.");

/** A pipeline's `alerts:` rule (SPEC section 3 thresholds, section 10 operations). */
export const alertSpec = z
  .strictObject({
    metric: z
      .string()
      .optional()
      .describe(
        "validation_pass_rate, row_count_delta, duplicate_rate, null_rate.COL, unique.COL, duration_ms, duration_seconds, failed, success_rate",
      ),
    below: z.number().optional(),
    above: z.number().optional(),
    window: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("success_rate: over the last N runs of the pipeline, this one included (default 10)."),
    freshness: freshnessSpec.optional(),
    webhook: z.string().optional().describe("Also send this rule's notifications here (besides alerting.webhooks)."),
  })
  .refine((r) => (r.metric === undefined) !== (r.freshness === undefined), {
    error: "an alert rule has either `metric` (with below/above) or `freshness`, not both or neither",
  })
  .describe(
    "Threshold rule on a run metric (`metric` with `below`/`above`; `failed` fires on a failed run), or a `freshness` rule.",
  );

/** The alerting fields of a pipeline (spread into pipelineSpec). */
export const pipelineAlertFields = {
  alerts: z.array(alertSpec).default([]),
};

/** Top-level alerting settings (spread into configSpec). */
export const configAlertFields = {
  alerting: z
    .strictObject({
      webhooks: z
        .array(z.string())
        .default([])
        .describe("URLs that get every alert notification (Slack-compatible body with Alertmanager fields)."),
      retries: z
        .strictObject({
          attempts: z.number().int().positive().default(4),
          backoff_ms: z.number().int().nonnegative().default(500),
        })
        .default({ attempts: 4, backoff_ms: 500 })
        .describe("Delivery attempts per notification, exponential backoff from backoff_ms."),
      timeout_ms: z.number().int().positive().default(5000).describe("Per POST."),
    })
    .default({ webhooks: [], retries: { attempts: 4, backoff_ms: 500 }, timeout_ms: 5000 })
    .describe(
      "Where alert notifications go: one when an incident starts (firing), one when it resolves, not one per run.",
    ),
};

export type FreshnessConfig = z.infer<typeof freshnessSpec>;
export type AlertingConfig = z.infer<(typeof configAlertFields)["alerting"]>;
