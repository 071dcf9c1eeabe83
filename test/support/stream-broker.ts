import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { testNats } from "./nats.js";
import { testRedis } from "./redis.js";
import { type TestBroker, uniqueName } from "./server-process.js";

/** One broker as the stream tests use it: a fresh stream, its source YAML, publishing, clean-up. */
export interface StreamFixture {
  readonly kind: "nats" | "redis";
  /** The pipeline's `source:` for this stream (flow style), with extra settings appended. */
  source(extra?: string): string;
  /** Publishes the payloads in order (each one message). */
  publish(payloads: readonly (string | Buffer)[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A fresh stream on the machine's broker (or a private one), or undefined when none can run. With
 * `partitions` (NATS) the stream takes `<name>.events.*`, the source reads `partitions` partition
 * subjects, and message i goes to partition i % partitions.
 */
export async function streamFixture(kind: "nats" | "redis", partitions = 1): Promise<StreamFixture | undefined> {
  const broker = kind === "nats" ? await testNats() : await testRedis();
  if (!broker) return undefined;
  return kind === "nats" ? natsFixture(broker, partitions) : redisFixture(broker);
}

async function natsFixture(broker: TestBroker, partitions: number): Promise<StreamFixture> {
  const name = uniqueName("sluice_test").replace(/\W/g, "_");
  const nc = await connect({ servers: broker.url.replace("nats://", "") });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [partitions > 1 ? `${name}.events.*` : `${name}.events`] });
  const js = jetstream(nc);
  const subject = (i: number) => (partitions > 1 ? `${name}.events.${i % partitions}` : `${name}.events`);
  const partitioned = partitions > 1 ? `, subject: ${name}.events, partitions: ${partitions}` : "";
  let sent = 0;
  return {
    kind: "nats",
    source: (extra = "") =>
      `{ type: nats, url: "${broker.url}", stream: ${name}, durable: d_${name}${partitioned}${extra} }`,
    publish: async (payloads) => {
      for (let i = 0; i < payloads.length; i += 500) {
        await Promise.all(payloads.slice(i, i + 500).map((p) => js.publish(subject(sent++), p)));
      }
    },
    close: async () => {
      await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
      await broker.stop();
    },
  };
}

async function redisFixture(broker: TestBroker): Promise<StreamFixture> {
  const key = uniqueName("sluice_test");
  const client = new Redis(broker.url);
  return {
    kind: "redis",
    source: (extra = "") => `{ type: redis_stream, url: "${broker.url}", stream: ${key}, group: g${extra} }`,
    publish: async (payloads) => {
      for (let i = 0; i < payloads.length; i += 500) {
        const pipe = client.pipeline();
        for (const p of payloads.slice(i, i + 500)) pipe.xadd(key, "*", "data", p);
        await pipe.exec();
      }
    },
    close: async () => {
      await client.del(key);
      client.disconnect();
      await broker.stop();
    },
  };
}
