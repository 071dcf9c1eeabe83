import { z } from "zod";

/** A pipeline's scheduling fields (spread into pipelineSpec), run by `sluice serve` (SPEC section 10). */
export const pipelineScheduleFields = {
  schedule: z
    .string()
    .optional()
    .describe(
      "Cron expression, checked for syntax. No scheduler runs it in this version of sluice (planned: `sluice serve`): run `sluice run` from cron or CI.",
    ),
  after: z.array(z.string()).optional().describe("Run when these pipelines succeed."),
};

/** Top-level settings of `sluice serve` (spread into configSpec). */
export const configServeFields = {};
