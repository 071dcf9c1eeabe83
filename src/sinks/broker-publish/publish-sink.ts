import type { SinkConfig } from "../../config/spec.js";
import { NatsBatchMarks } from "../../connectors/nats/nats-batch-marks.js";
import { parseNatsTarget } from "../../connectors/nats/publish-nats.js";
import { type OutgoingMessage, openPublisher, publishAll } from "../../connectors/publisher.js";
import { parseRedisTarget } from "../../connectors/redis/publish-redis.js";
import { RedisBatchPublisher } from "../../connectors/redis/publish-redis-batch.js";
import { redactSecrets } from "../../util/redact.js";
import type { Sink, SinkContext, SinkOutput, WriteIntent } from "../sink.js";
import { batchMessages } from "./batch-messages.js";

type NatsSinkConfig = Extract<SinkConfig, { type: "nats" }>;
type RedisStreamSinkConfig = Extract<SinkConfig, { type: "redis_stream" }>;

/** Messages per pipelined window. */
const WINDOW = 1000;

/** A broker connection as the publish sink uses it: what it completed, and publishing one batch. */
export interface PublishTarget {
  holds(batchId: string): Promise<boolean>;
  /** Publishes the batch's messages and records it complete; returns how many the broker stored. */
  publish(batchId: string, rows: number, messages: AsyncIterable<OutgoingMessage>, now: Date): Promise<number>;
  close(): Promise<void>;
}

/**
 * `nats` and `redis_stream` sinks: fan-out of each batch's rows, one JSON message per row (see
 * batchMessages: ids `<batch_id>:<n>`, n numbered deterministically), published in pipelined
 * windows of 1,000 through the connectors' publishers. A broker is an append-only log: `append`,
 * `upsert` and `replace` batches all publish their rows (a `replace` batch — a file or window read
 * whole — publishes the whole dataset under that run's batch id). The sink is `incremental` (it
 * takes merge/eager deltas as they are, so it never turns the other sinks' batches into whole
 * datasets), has no `existing()` (dedup never compares against a broker) and no `head()`.
 *
 * Commit protocol (`holds`, `held`):
 * - **nats**: every message carries `Nats-Msg-Id: <batch_id>:<n>`, so JetStream drops a republished
 *   message within the stream's duplicate window (2 minutes by default); after the last message is
 *   acknowledged a mark for (subject, batch id) goes to the stream `sluice_batches`
 *   (connectors/nats/nats-batch-marks.ts, kept 7 days), and `holds` is that mark. A batch whose
 *   publish was interrupted (no mark) is published again in full: within the duplicate window the
 *   server stores only the messages it lacks, so consumers see each once; after it, the messages
 *   that made it the first time appear twice (same id, so a consumer can drop them).
 * - **redis_stream**: exactly once per entry even across a crash: the batch's progress is kept in
 *   `<key>:sluice_batches`, moved in the same Lua script as each window's XADDs, so publishing the
 *   batch again continues after the last entry that landed; `done` once complete is `holds`
 *   (connectors/redis/publish-redis-batch.ts).
 */
export class PublishSink implements Sink {
  readonly name: string;
  readonly incremental = true;

  constructor(
    private readonly config: NatsSinkConfig | RedisStreamSinkConfig,
    private readonly open: (component: string) => Promise<PublishTarget>,
    display: string,
  ) {
    this.name = `${config.type}:${display}`;
  }

  async write(ctx: SinkContext, relation: string, intent: WriteIntent): Promise<SinkOutput> {
    const out = { sink: this.name, path: this.name.slice(this.name.indexOf(":") + 1) };
    let target: PublishTarget | undefined;
    try {
      target = await this.open(`sink:${this.config.type}`);
      if (await target.holds(intent.batchId)) return { ...out, rows: 0, status: "held" };
      const batch = await batchMessages(ctx.engine, relation, intent.batchId);
      try {
        const stored = await target.publish(intent.batchId, batch.rows, batch.messages(), ctx.startedAt);
        if (stored < batch.rows) {
          ctx.log.info(`${this.name}: ${batch.rows - stored} of ${batch.rows} messages were there already`);
        }
        return { ...out, rows: batch.rows, status: "written" };
      } finally {
        batch.dispose();
      }
    } catch (err) {
      if (this.config.on_error === "fail") throw err;
      const warning = `${this.name}: not published (${redactSecrets(err instanceof Error ? err.message : String(err))}); the next run publishes the batch`;
      ctx.log.warn(warning);
      return { ...out, rows: 0, status: "skipped", warning };
    } finally {
      await target?.close();
    }
  }

  async holds(_ctx: SinkContext, batchId: string): Promise<boolean> {
    const target = await this.open(`sink:${this.config.type}`);
    try {
      return await target.holds(batchId);
    } finally {
      await target.close();
    }
  }
}

/** A `nats` sink: messages through the JetStream publisher, completion marks in `sluice_batches`. */
export function natsSink(config: NatsSinkConfig): PublishSink {
  const display = parseNatsTarget(config.url, "sink:nats").display;
  return new PublishSink(config, (component) => natsPublishTarget(config.url, component), display);
}

/** A `redis_stream` sink: resumable windows (see RedisBatchPublisher). */
export function redisStreamSink(config: RedisStreamSinkConfig): PublishSink {
  const display = parseRedisTarget(config.url, "sink:redis_stream").display;
  return new PublishSink(config, (component) => redisPublishTarget(config.url, component), display);
}

/**
 * A JetStream subject as a publish target: the messages (their ids as `Nats-Msg-Id`) through the
 * publisher, then the batch's mark in `sluice_batches` (`holds`).
 */
export async function natsPublishTarget(url: string, component: string): Promise<PublishTarget> {
  const marks = await NatsBatchMarks.open(url, component);
  return {
    holds: (batchId) => marks.holds(batchId),
    async publish(batchId, rows, messages, now) {
      const publisher = await openPublisher(url, component);
      try {
        const stored = await publishAll(publisher, messages, WINDOW);
        await marks.mark(batchId, rows, now);
        return stored;
      } finally {
        await publisher.close();
      }
    },
    close: () => marks.close(),
  };
}

/** A Redis stream as a publish target: resumable windows, `done` once complete (RedisBatchPublisher). */
export async function redisPublishTarget(url: string, component: string): Promise<PublishTarget> {
  const redis = await RedisBatchPublisher.open(url, component);
  return {
    holds: (batchId) => redis.holds(batchId),
    async publish(batchId, _rows, messages, now) {
      const stored = await publishAll(redis.batch(batchId), messages, WINDOW);
      await redis.complete(batchId, now);
      return stored;
    },
    close: () => redis.close(),
  };
}
