import type { BrokerPublisher, OutgoingMessage } from "../../connectors/publisher.js";
import { POOL_CHUNK_ROWS, type PoolRecord } from "./record-pool.js";

/** What drives a simulated producer. */
export interface ProduceSettings {
  /** Messages per second (duplicates included). */
  readonly rate: number;
  /** Extra random pause of 0..jitterMs before each sub-second batch. */
  readonly jitterMs: number;
  /** Stop after this many messages (duplicates included); undefined: no limit. */
  readonly count?: number;
  /** Stop after this many seconds; undefined: no limit. */
  readonly durationS?: number;
  /** Share of messages that re-send one of the last 1,000 records sent (same payload, same key). */
  readonly dupRate: number;
  /** Share of records sent after the record that followed them (swapped with it). */
  readonly outOfOrderRate: number;
  /** Seeds the decisions above (and, elsewhere, the records). */
  readonly seed: number;
  /** This process's id in message ids: `<producerId>:<seq>` (a republish is deduplicated by NATS). */
  readonly producerId: string;
}

/** One published message, as the `--log` file records it (one JSON line each). */
export interface ProducedMessage {
  /** 1-based, in publish order. */
  readonly seq: number;
  readonly key: string;
  readonly dup: boolean;
}

export interface ProduceSummary {
  readonly published: number;
  readonly duplicates: number;
  readonly out_of_order: number;
  readonly seconds: number;
}

/** Where the loop gets records and reports what it sent. */
export interface ProduceIo {
  readonly publisher: BrokerPublisher;
  /** The next `rows` fresh records (new keys). */
  nextRecords(rows: number): Promise<PoolRecord[]>;
  /** Called after each batch the broker stored, in order. */
  onPublished(messages: readonly ProducedMessage[], total: number): void;
  /** Aborted by SIGINT/SIGTERM: the loop finishes the batch in flight and returns. */
  readonly stop: AbortSignal;
}

const TICK_MS = 20;
const HISTORY = 1000;

/**
 * Runs the producer until `count` messages, `durationS` seconds or `stop`, whichever comes first.
 * Contract: a token bucket refilled at `rate` per second (capacity: what one tick plus the jitter
 * earns, at least 1) is drained every ~20 ms in one pipelined batch, awaited before the next, so the
 * long-run rate is `rate` unless the broker is slower; every message is either a fresh record
 * (possibly swapped with the next one: out of order) or, with probability `dupRate`, a re-send of
 * a recent record (dup). The same seed makes the same decisions.
 */
export async function runProducer(settings: ProduceSettings, io: ProduceIo): Promise<ProduceSummary> {
  const random = mulberry32(settings.seed ^ 0x5eed);
  const source = new FreshRecords(io, settings, random);
  const history: PoolRecord[] = [];
  const started = performance.now();
  const deadline = settings.durationS === undefined ? Infinity : started + settings.durationS * 1000;
  const limit = settings.count ?? Infinity;
  const capacity = Math.max(1, (settings.rate * (TICK_MS + settings.jitterMs + 50)) / 1000);
  let tokens = 1;
  let last = started;
  let published = 0;
  let duplicates = 0;
  let fresh = 0;
  while (published < limit && !io.stop.aborted && performance.now() < deadline) {
    const now = performance.now();
    tokens = Math.min(capacity, tokens + ((now - last) * settings.rate) / 1000);
    last = now;
    const n = Math.min(Math.floor(tokens), limit - published);
    if (n > 0) {
      tokens -= n;
      const batch: (PoolRecord & { dup: boolean })[] = [];
      for (let i = 0; i < n; i++) {
        const dup = history.length > 0 && random() < settings.dupRate;
        const record = dup ? history[Math.floor(random() * history.length)]! : await source.next(limit - published - i);
        if (!dup) remember(history, record, fresh++);
        batch.push({ ...record, dup });
      }
      const messages: OutgoingMessage[] = batch.map((r, i) => ({
        data: r.line,
        id: `${settings.producerId}:${published + i + 1}`,
      }));
      await io.publisher.publishBatch(messages);
      const produced = batch.map((r, i) => ({ seq: published + i + 1, key: r.key, dup: r.dup }));
      published += n;
      duplicates += produced.filter((m) => m.dup).length;
      io.onPublished(produced, published);
    }
    if (published >= limit) break;
    await sleep(Math.min(TICK_MS + random() * settings.jitterMs, Math.max(0, deadline - performance.now())), io.stop);
  }
  const seconds = (performance.now() - started) / 1000;
  await source.settle();
  return { published, duplicates, out_of_order: source.swapped, seconds };
}

/**
 * Fresh records in generation order, each swapped with the next one at `outOfOrderRate`. Halfway
 * through a chunk the next one is generated in the background: a 50K-row chunk takes 1-2 s on 2
 * cores (seconds when they are busy) and, awaited when the chunk ran out, paused the sends that
 * long (the bucket does not catch up): at 10K/s a gap in the stream every 5 s.
 */
class FreshRecords {
  swapped = 0;
  private pool: PoolRecord[] = [];
  private at = 0;
  private ahead: Promise<PoolRecord[]> | undefined;

  constructor(
    private readonly io: ProduceIo,
    private readonly settings: ProduceSettings,
    private readonly random: () => number,
  ) {}

  /** The next record; `wanted` (messages still to send, duplicates included) sizes a new chunk. */
  async next(wanted: number): Promise<PoolRecord> {
    if (this.at >= this.pool.length) {
      this.pool = await (this.ahead ?? this.chunk(wanted));
      this.ahead = undefined;
      this.at = 0;
    }
    const after = wanted - (this.pool.length - this.at); // still wanted once this chunk is sent
    if (this.ahead === undefined && this.at >= this.pool.length / 2 && after > 0) {
      const ahead = this.chunk(after);
      ahead.catch(() => undefined); // awaited (and its failure thrown) when the chunk runs out
      this.ahead = ahead;
    }
    const pool = this.pool;
    if (this.at + 1 < pool.length && this.random() < this.settings.outOfOrderRate) {
      const held = pool[this.at]!;
      pool[this.at] = pool[this.at + 1]!;
      pool[this.at + 1] = held;
      this.swapped++;
    }
    return pool[this.at++]!;
  }

  /** Waits for a chunk still being generated (the caller closes the engine next). */
  async settle(): Promise<void> {
    await this.ahead?.catch(() => undefined);
  }

  private chunk(wanted: number): Promise<PoolRecord[]> {
    const left = Number.isFinite(wanted) ? wanted : POOL_CHUNK_ROWS;
    const byTime =
      this.settings.durationS === undefined ? POOL_CHUNK_ROWS : Math.ceil(this.settings.rate * this.settings.durationS);
    return this.io.nextRecords(Math.max(1, Math.min(POOL_CHUNK_ROWS, left, byTime)));
  }
}

/** Keeps the last HISTORY records (a ring: the oldest is overwritten). */
function remember(history: PoolRecord[], record: PoolRecord, count: number): void {
  history[count % HISTORY] = record;
}

/** Resolves after `ms`, or at once when `stop` is aborted. */
function sleep(ms: number, stop: AbortSignal): Promise<void> {
  if (stop.aborted || ms <= 0) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      stop.removeEventListener("abort", finish);
      done();
    }
    stop.addEventListener("abort", finish, { once: true });
  });
}

/** A small seeded PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
