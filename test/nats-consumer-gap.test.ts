import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsSourceSpec } from "../src/config/spec.js";
import { openNatsConsumer } from "../src/sources/nats/nats-consumer.js";
import type { StreamConsumer } from "../src/sources/stream/stream-consumer.js";
import { type TestBroker, testNats, uniqueName } from "./support/nats.js";

// Deliveries the worker never receives (messages in flight lost in a server restart; here: taken by
// another client fetching from the same durable) leave a gap in the consumer's delivery sequence.
// The consumer must not skip them (a later AckAll would acknowledge them unread): it reads the stream
// again after the last message it handed over.

let nats: TestBroker | undefined;
beforeAll(async () => {
  nats = await testNats();
}, 60_000);
afterAll(async () => {
  await nats?.stop();
});

describe("nats consumer", () => {
  it("a gap in its deliveries is read again from the stream, in order, nothing handed twice", async (t) => {
    if (!nats) return t.skip();
    const stream = uniqueName("gap").replace(/\W/g, "_");
    const nc = await connect({ servers: nats.url.replace("nats://", "") });
    let consumer: StreamConsumer | undefined;
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: stream, subjects: [`${stream}.x`] });
      const js = jetstream(nc);
      for (let i = 1; i <= 10; i++) await js.publish(`${stream}.x`, JSON.stringify({ i }));
      const config = natsSourceSpec.parse({
        type: "nats",
        url: nats.url,
        stream,
        durable: "d",
        max_rows: 3,
      });
      consumer = await openNatsConsumer(config, undefined, "test");
      const first = await consumer.next(3, 50, AbortSignal.timeout(5000));
      expect(first.map((m) => m.position)).toEqual(["1", "2", "3"]);
      // Let the client's prefetch settle, then take deliveries of the durable elsewhere: the worker never sees them.
      await new Promise((r) => setTimeout(r, 300));
      const thief = await js.consumers.get(stream, "d");
      const stolen = await thief.fetch({ max_messages: 2, expires: 1000 });
      for await (const m of stolen) void m;
      // Later messages arrive: the worker sees the gap in its delivery sequence.
      for (let i = 11; i <= 12; i++) await js.publish(`${stream}.x`, JSON.stringify({ i }));

      const positions: string[] = [];
      for (let i = 0; i < 6 && positions.length < 9; i++) {
        const got = await consumer.next(10, 100, AbortSignal.timeout(1500));
        positions.push(...got.map((m) => m.position));
      }
      expect(positions).toEqual(["4", "5", "6", "7", "8", "9", "10", "11", "12"]);
    } finally {
      await consumer?.close();
      await nc.close();
    }
  });
});
