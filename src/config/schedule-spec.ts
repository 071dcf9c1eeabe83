import { z } from "zod";

/** Whether `zone` is an IANA time zone this Node knows (`Europe/Berlin`, `UTC`). */
function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A pipeline's scheduling fields (spread into pipelineSpec), run by `sluice serve` (SPEC section 10). */
export const pipelineScheduleFields = {
  schedule: z
    .string()
    .optional()
    .describe(
      "Cron expression (5 fields, or 6 with seconds first: `*/10 * * * * *`), checked at load. `sluice serve` runs the pipeline on it (a streaming pipeline runs as a supervised worker instead); without a server, run `sluice run` from cron or CI.",
    ),
  timezone: z
    .string()
    .refine(knownTimeZone, { message: "unknown time zone (an IANA name such as `Europe/Berlin` or `UTC`)" })
    .optional()
    .describe("IANA time zone the `schedule` is read in; default the server's local time zone."),
  after: z
    .array(z.string())
    .optional()
    .describe("`sluice serve` runs this pipeline each time one of these pipelines succeeds (no cycles)."),
  catch_up: z
    .boolean()
    .default(false)
    .describe(
      "When `sluice serve` starts and scheduled times passed while no server ran: run once to catch up (they are reported either way).",
    ),
};

/** Top-level settings of `sluice serve` (spread into configSpec). */
export const configServeFields = {
  serve: z
    .strictObject({
      host: z
        .string()
        .default("127.0.0.1")
        .describe("Address the dashboard binds; any other than 127.0.0.1 requires SLUICE_TOKEN."),
      port: z.number().int().min(0).max(65535).default(4200).describe("Port of the dashboard and /metrics."),
    })
    .default({ host: "127.0.0.1", port: 4200 })
    .describe("`sluice serve`: where its dashboard listens (`--host`/`--port` override)."),
};
