// The broker test helpers themselves: a private NATS / Redis server survives a restart with its data.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { natsServerBinary, testNats, withPrivateNats } from "./support/nats.js";
import { redisServerBinary, testRedis, withPrivateRedis } from "./support/redis.js";
import { type RestartableBroker, skipMessage, uniqueName } from "./support/server-process.js";

// Outside CI a missing binary skips (with a message); in CI it does not, so withPrivate* throws.
const skipNats = !natsServerBinary() && !process.env.CI;
const skipRedis = !redisServerBinary() && !process.env.CI;
if (skipNats) console.warn(skipMessage("nats"));
if (skipRedis) console.warn(skipMessage("redis"));

describe.skipIf(skipNats)("private NATS server", () => {
  let broker: RestartableBroker | undefined;
  afterAll(async () => {
    await broker?.stop();
  });

  it("keeps a JetStream stream and its messages across restart()", async () => {
    broker = await withPrivateNats();
    const stream = uniqueName("support").replace(/\W/g, "_");
    const subject = `${stream}.events`;

    let nc = await connect({ servers: broker.url, reconnect: false });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: stream, subjects: [subject] });
      const js = jsm.jetstream();
      for (let i = 1; i <= 3; i++) await js.publish(subject, JSON.stringify({ i }));
    } finally {
      await nc.close();
    }

    await broker.restart();

    nc = await connect({ servers: broker.url, reconnect: false });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(3);
      const last = await jsm.streams.getMessage(stream, { seq: 3 });
      expect(last?.json<{ i: number }>()).toEqual({ i: 3 });
    } finally {
      await nc.close();
    }
  });

  it("testNats() hands out a server with JetStream", async () => {
    const shared = await testNats();
    expect(shared).toBeDefined();
    try {
      const nc = await connect({ servers: shared!.url, reconnect: false });
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
      } finally {
        await nc.close();
      }
    } finally {
      await shared!.stop();
    }
  });
});

describe.skipIf(skipRedis)("private Redis server", () => {
  let broker: RestartableBroker | undefined;
  afterAll(async () => {
    await broker?.stop();
  });

  it("keeps stream entries across restart() (appendonly yes)", async () => {
    broker = await withPrivateRedis();
    const key = uniqueName("support-stream");

    let client = new Redis(broker.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      for (let i = 1; i <= 3; i++) await client.xadd(key, "*", "i", String(i));
    } finally {
      await client.quit();
    }

    await broker.restart();

    client = new Redis(broker.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      expect(await client.xlen(key)).toBe(3);
      const entries = await client.xrange(key, "-", "+");
      expect(entries.map(([, fields]) => fields)).toEqual([
        ["i", "1"],
        ["i", "2"],
        ["i", "3"],
      ]);
    } finally {
      await client.quit();
    }
  });

  it("testRedis() hands out a server that answers PING", async () => {
    const shared = await testRedis();
    expect(shared).toBeDefined();
    const client = new Redis(shared!.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      expect(await client.ping()).toBe("PONG");
    } finally {
      await client.quit();
      await shared!.stop();
    }
  });
});
