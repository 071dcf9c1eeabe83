import type { Redis } from "ioredis";
import type { RedisStreamSourceConfig } from "../../config/spec.js";
import { connectRedis } from "../../connectors/redis/connect-redis.js";
import { escapeRegExp } from "../../util/escape-regexp.js";
import type { StreamConsumer, StreamLag, StreamMessage } from "../stream/stream-consumer.js";

const COMPONENT = "source:redis_stream";
/** Longest single BLOCK, so a stop signal is seen within it (a blocked connection cannot be interrupted). */
const BLOCK_SLICE_MS = 250;

type Entry = [id: string, fields: string[]];

/** Orders Redis stream ids ("<ms>-<seq>") numerically (both parts are below 2^53 in practice). */
export function compareRedisIds(a: string, b: string): number {
  const i = a.indexOf("-");
  const j = b.indexOf("-");
  const d = Number(i < 0 ? a : a.slice(0, i)) - Number(j < 0 ? b : b.slice(0, j));
  if (d !== 0) return d;
  return Number(i < 0 ? 0 : a.slice(i + 1)) - Number(j < 0 ? 0 : b.slice(j + 1));
}

/**
 * A Redis Streams consumer-group reader for one stream worker slot, positioned after `after` (the
 * slot's committed entry id). Slot 0 reads as `consumer` (default `sluice-<pipeline>`), slot k as
 * `<consumer>-k`; the slot's lock makes this worker its only reader. It first reads the slot's own
 * pending entries (those it had been given before a restart) in id order, then new entries
 * (XREADGROUP `>`, on a connection of its own for BLOCK), which the group shares among the slots.
 * Entries at or before `after` were committed already: acknowledged and skipped. With `drain` (a
 * slot whose worker stopped) it stops once its pending entries are read. Pending entries of
 * consumers that are not slots of this pipeline (another name) are claimed once idle for
 * `claim_idle_ms`. Holds at most one read (`max` entries) in memory.
 *
 * A connection that drops may lose the reply of a read Redis executed (a server restart right after
 * XREADGROUP `>`): those entries are in this consumer's pending list and nobody else will read them.
 * So after any reconnect the consumer drops the result of the read in flight (its entries are pending
 * too) and reads its own pending entries again from the start, in id order, skipping those it has
 * handed over already, before it reads new entries.
 */
export async function openRedisConsumer(
  config: RedisStreamSourceConfig,
  after: string | undefined,
  pipeline: string,
  selection: { readonly slot: number; readonly drain: boolean } = { slot: 0, drain: false },
): Promise<StreamConsumer> {
  const base = config.consumer ?? `sluice-${pipeline}`;
  const consumer = selection.slot === 0 ? base : `${base}-${selection.slot}`;
  const client = await connectRedis(config.url, `${consumer}-commands`, COMPONENT);
  const blocking = await connectRedis(config.url, `${consumer}-reads`, COMPONENT).catch((err: unknown) => {
    client.disconnect();
    throw err;
  });
  await client.xgroup("CREATE", config.stream, config.group, "0", "MKSTREAM").catch((err: Error) => {
    if (!String(err.message).includes("BUSYGROUP")) throw err;
  });
  if (!selection.drain) await claimForeign(client, config, base, consumer);
  return new RedisConsumer(config, consumer, client, blocking, after, selection.drain);
}

/**
 * Moves to `consumer` the entries pending for at least `claim_idle_ms` at consumers that are not
 * slots of this pipeline (`base`, `base-<k>`): a worker of another name that died. A slot's own
 * entries stay with it: they may belong to its pending batch, which only the slot finishes.
 */
async function claimForeign(
  client: Redis,
  config: RedisStreamSourceConfig,
  base: string,
  consumer: string,
): Promise<void> {
  const ours = new RegExp(`^${escapeRegExp(base)}(-\\d+)?$`);
  const consumers = (await client.xinfo("CONSUMERS", config.stream, config.group)) as unknown[][];
  for (const c of consumers) {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < c.length; i += 2) info.set(String(c[i]), c[i + 1]);
    const name = String(info.get("name"));
    if (ours.test(name) || Number(info.get("pending") ?? 0) === 0) continue;
    for (;;) {
      const pending = (await client.xpending(
        config.stream,
        config.group,
        "IDLE",
        config.claim_idle_ms,
        "-",
        "+",
        1000,
        name,
      )) as [string, ...unknown[]][];
      if (pending.length === 0) break;
      const ids = pending.map((p) => p[0]);
      await client.xclaim(config.stream, config.group, consumer, config.claim_idle_ms, ...ids, "JUSTID");
      if (pending.length < 1000) break;
    }
  }
}

class RedisConsumer implements StreamConsumer {
  readonly name: string;
  private phase: "pending" | "new" = "pending";
  private cursor = "0";
  private readonly handed: string[] = [];
  /** A draining consumer read all its pending entries. */
  private exhausted = false;
  /** A connection dropped since the last read: its reply may be lost (see openRedisConsumer). */
  private reconnected = false;
  /** While pending entries are read again after a reconnect: the ids handed over already. */
  private handedBefore: Set<string> | undefined;

  constructor(
    private readonly config: RedisStreamSourceConfig,
    private readonly consumer: string,
    private readonly client: Redis,
    private readonly blocking: Redis,
    private readonly after: string | undefined,
    private readonly drain: boolean,
  ) {
    this.name = `redis:${config.stream}`;
    for (const c of [client, blocking]) {
      c.on("close", () => {
        this.reconnected = true;
      });
    }
  }

  async next(max: number, waitMs: number, signal: AbortSignal): Promise<StreamMessage[]> {
    const out: StreamMessage[] = [];
    const committed: string[] = [];
    let deadline = Number.POSITIVE_INFINITY;
    while (out.length < max && !signal.aborted && !this.exhausted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const entries = await this.read(max - out.length, Math.max(1, Math.min(BLOCK_SLICE_MS, left)));
      for (const [id, fields] of entries) {
        if (this.after !== undefined && compareRedisIds(id, this.after) <= 0) {
          committed.push(id);
          continue;
        }
        if (this.handedBefore?.has(id)) continue;
        this.handed.push(id);
        out.push({
          position: id,
          data: this.payload(fields),
          deliveries: this.phase === "pending" ? 2 : 1,
          storedAt: Number(id.split("-")[0]),
        });
      }
      if (out.length > 0 && deadline === Number.POSITIVE_INFINITY) deadline = Date.now() + waitMs;
    }
    // Entries committed before (at or before `after`) are acknowledged at once.
    if (committed.length > 0) await this.ackIds(committed);
    return out;
  }

  private async read(count: number, blockMs: number): Promise<Entry[]> {
    const entries = await this.readOnce(count, blockMs);
    if (!this.reconnected) return entries;
    // A connection dropped during (or before) this read: every entry Redis gave this consumer, the
    // lost reply's included, is in its pending list: read that again from the start.
    this.reconnected = false;
    this.phase = "pending";
    this.cursor = "0";
    this.handedBefore = new Set(this.handed);
    return [];
  }

  private async readOnce(count: number, blockMs: number): Promise<Entry[]> {
    const { stream, group } = this.config;
    if (this.phase === "pending") {
      const res = (await this.client.xreadgroup(
        "GROUP",
        group,
        this.consumer,
        "COUNT",
        count,
        "STREAMS",
        stream,
        this.cursor,
      )) as [string, Entry[]][] | null;
      const entries = res?.[0]?.[1] ?? [];
      if (entries.length === 0) {
        this.phase = "new";
        this.handedBefore = undefined;
      } else this.cursor = entries.at(-1)![0];
      if (entries.length === 0 && this.drain) this.exhausted = true;
      return entries;
    }
    const res = (await this.blocking.xreadgroup(
      "GROUP",
      group,
      this.consumer,
      "COUNT",
      count,
      "BLOCK",
      blockMs,
      "STREAMS",
      stream,
      ">",
    )) as [string, Entry[]][] | null;
    return res?.[0]?.[1] ?? [];
  }

  private payload(fields: string[]): Uint8Array {
    const i = fields.indexOf(this.config.field);
    if (i >= 0 && i % 2 === 0) return Buffer.from(fields[i + 1] ?? "");
    const record: Record<string, string> = {};
    for (let j = 0; j + 1 < fields.length; j += 2) record[fields[j]!] = fields[j + 1]!;
    return Buffer.from(JSON.stringify(record));
  }

  async ack(upTo: StreamMessage[]): Promise<void> {
    const last = upTo.at(-1);
    if (!last) return;
    let end = 0;
    while (end < this.handed.length && compareRedisIds(this.handed[end]!, last.position) <= 0) end++;
    await this.ackIds(this.handed.splice(0, end));
  }

  /** XACK in chunks of 1,000 ids, sent as one pipeline (one round trip). */
  private async ackIds(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipe = this.client.pipeline();
    for (let i = 0; i < ids.length; i += 1000)
      pipe.xack(this.config.stream, this.config.group, ...ids.slice(i, i + 1000));
    const results = (await pipe.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  async working(): Promise<void> {
    // Redis never redelivers by itself: pending entries wait for the slot's next worker (or XCLAIM, for
    // consumers of other names, after claim_idle_ms).
  }

  /** Deletes this slot's consumer from the group once it holds no pending entry. */
  async retire(): Promise<void> {
    if (this.handed.length > 0) return;
    const { stream, group } = this.config;
    const mine = (await this.client.xpending(stream, group, "-", "+", 1, this.consumer)) as unknown[];
    if (mine.length === 0) await this.client.xgroup("DELCONSUMER", stream, group, this.consumer);
  }

  async lag(): Promise<StreamLag | undefined> {
    const groups = (await this.client.xinfo("GROUPS", this.config.stream).catch(() => [])) as unknown[][];
    for (const g of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
      if (info.get("name") === this.config.group) {
        const lag = Number(info.get("lag") ?? Number.NaN);
        return Number.isFinite(lag) ? { messages: lag + this.handed.length } : undefined;
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    this.blocking.disconnect();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
