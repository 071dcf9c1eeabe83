import { z } from "zod";

/** A pipeline's `alerts:` rule (SPEC section 3 thresholds, section 10 operations). */
export const alertSpec = z
  .strictObject({
    metric: z
      .string()
      .describe(
        "validation_pass_rate, row_count_delta, duplicate_rate, null_rate.COL, unique.COL, duration_ms, failed",
      ),
    below: z.number().optional(),
    above: z.number().optional(),
    webhook: z.string().optional(),
  })
  .describe("Threshold rule on a run metric.");

/** The alerting fields of a pipeline (spread into pipelineSpec). */
export const pipelineAlertFields = {
  alerts: z.array(alertSpec).default([]),
};

/** Top-level alerting settings (spread into configSpec). */
export const configAlertFields = {};
