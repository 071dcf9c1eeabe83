import { z } from "zod";

const command = z.string().min(1);

/** A pipeline's run hooks (spread into pipelineSpec): shell commands given the run record on stdin. */
export const pipelineHookFields = {
  on_success: command
    .optional()
    .describe(
      "Shell command (/bin/sh -c) run after a successful run committed its state; the run record (JSON) on stdin, SLUICE_RUN_ID, SLUICE_PIPELINE, SLUICE_STATUS in its environment. Its failure is a warning, never the run's.",
    ),
  on_failure: command.optional().describe("Shell command run after a failed run's record is written (as on_success)."),
  hook_timeout_seconds: z
    .number()
    .positive()
    .default(300)
    .describe("A hook still running after this long is killed (a warning in the record)."),
};

/** One `rollups:` entry: an aggregate table rebuilt in the warehouse after the pipelines it reads succeed. */
export const rollupSpec = z
  .strictObject({
    sql: z
      .string()
      .min(1)
      .describe(
        "A SELECT over warehouse tables, e.g. SELECT event_date, count(*) AS n FROM research.events GROUP BY 1.",
      ),
    after: z
      .array(z.string())
      .optional()
      .describe(
        "Refresh after a successful run of these pipelines; default: every pipeline with a duckdb sink whose `schema.table` the SQL names.",
      ),
    schema: z.string().default("main").describe("Schema of the rollup table in the warehouse."),
    table: z.string().optional().describe("Table name; default: the rollup's name."),
    min_interval_seconds: z
      .number()
      .nonnegative()
      .optional()
      .describe(
        "Refresh at most this often (default: 0 after batch runs, 60 after stream micro-batches); a skipped refresh happens at the next run after the interval.",
      ),
  })
  .describe("SQL aggregate table refreshed (CREATE OR REPLACE, one transaction) after each successful run it reads.");

/** Top-level `rollups:` (spread into configSpec): aggregate tables refreshed in the warehouse. */
export const configRollupFields = {
  rollups: z
    .record(z.string(), rollupSpec)
    .default({})
    .describe("Aggregate tables for dashboards (SPEC S4), refreshed in the warehouse after the runs they read."),
};

export type RollupConfig = z.infer<typeof rollupSpec>;
