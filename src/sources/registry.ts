import type { SourceConfig } from "../config/spec.js";
import { ConfigError } from "../errors.js";
import { FileSource } from "./file/file-source.js";
import { GenerateSource } from "./generate/generate-source.js";
import type { Source } from "./source.js";

/** Builds the source a config selects by `type`. A new source adds one line here. */
export function createSource(config: SourceConfig): Source {
  switch (config.type) {
    case "generate":
      return new GenerateSource(config);
    case "file":
      return new FileSource(config);
    case "postgres": {
      // Loaded on first use: the driver's modules cost start-up time every other run would pay.
      const loaded = import("./postgres/postgres-source.js").then((m) => new m.PostgresSource(config));
      loaded.catch(() => {});
      return {
        extract: async (ctx) => (await loaded).extract(ctx),
        check: async (ctx) => (await loaded).check(ctx),
        columns: async (ctx) => (await loaded).columns(ctx),
      };
    }
    case "nats":
    case "redis_stream":
    case "pubsub":
      return {
        extract: async () => {
          throw new ConfigError(
            `source type \`${config.type}\` is a stream: it has no end to read up to`,
            "run it with `sluice stream PIPELINE` (until SIGINT/SIGTERM)",
          );
        },
        check: async () =>
          config.type === "pubsub"
            ? `in-process pub/sub simulation \`${config.topic}\` (seed ${config.seed}${config.count === undefined ? "" : `, ${config.count} messages`}): run it with \`sluice stream\``
            : (await import("./stream/check-stream.js")).checkStreamSource(config),
      };
    default: {
      // Unreachable for validated configs: the spec lists only the types above.
      const type = (config as { type?: unknown }).type;
      throw new ConfigError(`source type ${JSON.stringify(type)} is not available in this version of sluice`);
    }
  }
}
