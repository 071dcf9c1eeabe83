import { describe, expect, it } from "vitest";
import { type PubsubSourceConfig, sourceSpec } from "../../config/spec.js";
import type { StreamMessage } from "../stream/stream-consumer.js";
import { openPubsubConsumer } from "./pubsub-consumer.js";
import type { PubsubMessage } from "./pubsub-messages.js";

const config = (extra: Record<string, unknown> = {}): PubsubSourceConfig =>
  sourceSpec.parse({ type: "pubsub", rate: 0, seed: 7, ...extra }) as PubsubSourceConfig;

const forever = new AbortController().signal;

/** Positions after..after+n of a fresh consumer, in as many reads as it takes. */
async function read(c: PubsubSourceConfig, n: number, after?: string): Promise<StreamMessage[]> {
  const consumer = await openPubsubConsumer(c, after);
  const out: StreamMessage[] = [];
  while (out.length < n) {
    const got = await consumer.next(Math.min(1000, n - out.length), 50, forever);
    if (got.length === 0) break;
    out.push(...got);
  }
  await consumer.close();
  return out;
}

const parsed = (m: StreamMessage) => JSON.parse(new TextDecoder().decode(m.data)) as PubsubMessage;

describe("the pubsub consumer", () => {
  it("delivers positions 1, 2, 3 ... with the pubsub dataset's columns, the same for the same seed", async () => {
    const a = await read(config({ dup_rate: 0.1, out_of_order_rate: 0.1 }), 2000);
    const b = await read(config({ dup_rate: 0.1, out_of_order_rate: 0.1 }), 2000);
    expect(a.map((m) => m.position)).toEqual(Array.from({ length: 2000 }, (_, i) => String(i + 1)));
    expect(b.map((m) => Buffer.from(m.data).toString())).toEqual(a.map((m) => Buffer.from(m.data).toString()));
    const first = parsed(a[0]!);
    expect(Object.keys(first)).toEqual(["message_id", "partition", "key", "value", "created_at", "published_at"]);
    expect(first.message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(JSON.parse(first.value)).toMatchObject({ key: first.key });
    // A key always lands in the same partition.
    const partitions = new Map<string, number>();
    for (const m of a.map(parsed)) {
      expect(partitions.get(m.key) ?? m.partition).toBe(m.partition);
      partitions.set(m.key, m.partition);
      expect(m.partition).toBeGreaterThanOrEqual(0);
      expect(m.partition).toBeLessThan(12);
    }
    const other = await read(config({ seed: 8, dup_rate: 0.1 }), 10);
    expect(parsed(other[0]!).message_id).not.toBe(first.message_id);
  });

  it("a consumer restarted after committed position P regenerates exactly the messages from P + 1", async () => {
    const c = config({ dup_rate: 0.15, out_of_order_rate: 0.1 });
    const all = await read(c, 3000);
    const resumed = await read(c, 1000, "1737");
    expect(resumed[0]!.position).toBe("1738");
    expect(resumed.map((m) => Buffer.from(m.data).toString())).toEqual(
      all.slice(1737, 2737).map((m) => Buffer.from(m.data).toString()),
    );
  });

  it("duplicates are re-sends of an earlier message_id (same key, value, created_at; later published_at) at dup_rate", async () => {
    const messages = (await read(config({ dup_rate: 0.1 }), 20_000)).map(parsed);
    const seen = new Map<string, PubsubMessage>();
    let dups = 0;
    for (const m of messages) {
      const original = seen.get(m.message_id);
      if (original) {
        dups++;
        expect({ ...m, published_at: "" }).toEqual({ ...original, published_at: "" });
        expect(Date.parse(m.published_at)).toBeGreaterThan(Date.parse(original.published_at));
      } else seen.set(m.message_id, m);
    }
    expect(dups / messages.length).toBeGreaterThan(0.08);
    expect(dups / messages.length).toBeLessThan(0.12);
  });

  it("out-of-order messages were created before the previous message, at out_of_order_rate", async () => {
    const messages = (await read(config({ out_of_order_rate: 0.1 }), 20_000)).map(parsed);
    let late = 0;
    for (let i = 1; i < messages.length; i++) {
      if (Date.parse(messages[i]!.created_at) < Date.parse(messages[i - 1]!.created_at)) late++;
      expect(Date.parse(messages[i]!.published_at)).toBeGreaterThanOrEqual(Date.parse(messages[i]!.created_at));
    }
    expect(late / messages.length).toBeGreaterThan(0.07);
    expect(late / messages.length).toBeLessThan(0.12);
    const inOrder = (await read(config(), 2000)).map(parsed);
    expect(inOrder.every((m, i) => i === 0 || m.created_at >= inOrder[i - 1]!.created_at)).toBe(true);
  });

  it("a [min, max] rate is drawn once from the seed: the same for the same seed, within the range", async () => {
    const ranged = config({ dup_rate: [0.05, 0.15], seed: 3 });
    const a = (await read(ranged, 20_000)).map(parsed);
    const b = (await read(ranged, 200)).map(parsed);
    expect(b).toEqual(a.slice(0, 200));
    const share = 1 - new Set(a.map((m) => m.message_id)).size / a.length;
    expect(share).toBeGreaterThan(0.04);
    expect(share).toBeLessThan(0.16);
    expect(() => config({ dup_rate: [0.2, 0.1] })).toThrow();
    expect(() => config({ dup_rate: 0.6 })).toThrow();
  });

  it("rate, delay and jitter change when messages arrive, never what they are; count ends the topic", async () => {
    // The rate spaces created_at (content); delay and jitter only hold messages back.
    const plain = await read(config({ count: 40, rate: 400 }), 100);
    const timed = config({ count: 40, rate: 400, delay_ms: [150, 200], jitter_ms: 20 });
    const consumer = await openPubsubConsumer(timed, undefined);
    const started = performance.now();
    const first = await consumer.next(100, 5, forever);
    const firstAt = performance.now() - started;
    const rest: StreamMessage[] = [];
    for (;;) {
      const got = await consumer.next(100, 1000, forever);
      if (got.length === 0) break;
      rest.push(...got);
    }
    const all = [...first, ...rest];
    expect(firstAt).toBeGreaterThanOrEqual(140);
    // 40 messages at 400/s: about 100 ms from the first to the last.
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    expect(all.map((m) => Buffer.from(m.data).toString())).toEqual(plain.map((m) => Buffer.from(m.data).toString()));
    expect(plain).toHaveLength(40);
    // After the last position the topic is over: [] at once, and again after a restart.
    expect(await consumer.next(10, 1000, forever)).toEqual([]);
    expect(await read(timed, 10, "40")).toEqual([]);
  });

  it("waits for the next message until stopped, then resolves []", async () => {
    const consumer = await openPubsubConsumer(config({ rate: 1, delay_ms: 60_000 }), undefined);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    expect(await consumer.next(10, 10, stop.signal)).toEqual([]);
  });
});
