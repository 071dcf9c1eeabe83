import type { SourceConfig } from "../config/spec.js";
import { ConfigError } from "../errors.js";
import type { StreamConsumer } from "../sources/stream/stream-consumer.js";
import { type MicroBatching, StreamSource } from "../sources/stream/stream-source.js";

/** Which slot of the pipeline's stream a source reads (see stream-slots.ts). */
export interface SlotSelection {
  readonly slot: number;
  /** Only the messages the slot's consumer had been given (a slot a stopped worker left). */
  readonly drain: boolean;
}

/**
 * Opens the stream source of one slot of the pipeline, positioned after `after` (the slot's
 * committed position), its client loaded on first use. A source that is not a stream is a
 * ConfigError naming `sluice run`.
 */
export async function openStreamSource(
  config: SourceConfig,
  pipeline: string,
  after: string | undefined,
  stop: AbortSignal,
  selection: SlotSelection = { slot: 0, drain: false },
): Promise<StreamSource> {
  let consumer: StreamConsumer;
  let order: (a: string, b: string) => number;
  if (config.type === "nats") {
    const { openNatsConsumer } = await import("../sources/nats/nats-consumer.js");
    consumer = await openNatsConsumer(config, after, `sluice-${pipeline}`, selection.slot);
    order = (a, b) => Number(a) - Number(b);
  } else if (config.type === "redis_stream") {
    const { openRedisConsumer, compareRedisIds } = await import("../sources/redis-stream/redis-consumer.js");
    consumer = await openRedisConsumer(config, after, pipeline, selection);
    order = compareRedisIds;
  } else if (config.type === "pubsub") {
    const { openPubsubConsumer } = await import("../sources/pubsub/pubsub-consumer.js");
    consumer = await openPubsubConsumer(config, after);
    order = (a, b) => Number(a) - Number(b);
  } else {
    throw new ConfigError(
      `pipeline ${pipeline} reads a \`${config.type}\` source, which is not a stream`,
      "run it with `sluice run`; `sluice stream` takes pipelines with a nats, redis_stream or pubsub source",
    );
  }
  const settings: MicroBatching = config;
  return new StreamSource(consumer, settings, order, stop);
}
