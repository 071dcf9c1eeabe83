import { z } from "zod";

/** A publish sink's failure: `fail` fails the run (transient errors are retried); `warn` reports it `skipped`. */
const onError = z
  .enum(["warn", "fail"])
  .default("fail")
  .describe("warn: a batch that cannot be published is `skipped` (it stays pending; the next run publishes it).");

/** The fields of a `nats` sink (spec.ts adds `dedup`): each row one JSON message on a JetStream subject. */
export const natsSinkFields = {
  type: z.literal("nats"),
  url: z
    .string()
    .describe(
      "nats://[user:pass@]host:4222/<subject>[?stream=NAME]: each row one JSON message on the subject (JetStream).",
    ),
  on_error: onError,
};

/** The fields of a `redis_stream` sink (spec.ts adds `dedup`): each row one stream entry. */
export const redisStreamSinkFields = {
  type: z.literal("redis_stream"),
  url: z
    .string()
    .describe("redis://[user:pass@]host:6379/<stream key>[?db=N]: each row one entry (field `data`, the JSON record)."),
  on_error: onError,
};
