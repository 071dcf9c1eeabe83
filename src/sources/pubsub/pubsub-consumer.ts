import type { PubsubSourceConfig } from "../../config/spec.js";
import { ConfigError } from "../../errors.js";
import type { StreamConsumer, StreamLag, StreamMessage } from "../stream/stream-consumer.js";
import { inRange, type PubsubShape, pubsubMessage, pubsubShape, spacingMs, unitDraw } from "./pubsub-messages.js";

const SALT_DELAY = 201;
const SALT_JITTER = 202;
const SALT_JITTER_BOUND = 203;

/**
 * The seed's asyncio pub/sub, simulated in process: a topic whose positions are a global sequence
 * 1, 2, 3 ... (no broker). The message at position n is `pubsubMessage(shape, n)`, a function of
 * (seed, n) and the options that shape content, so a worker restarted after committed position P
 * regenerates exactly the messages from P + 1 (a redelivered micro-batch has the same id and
 * content). Timing only decides when a message becomes available: position n is published
 * (n - first) / rate seconds after the consumer opened, then delayed by `delay_ms` plus up to
 * `jitter_ms` (each drawn per message); delivery stays in position order (a message waits for the
 * ones before it). With `count`, the topic ends after position `count` and `next` resolves []. Holds
 * no messages: a batch is generated when asked for (bounded memory).
 */
export async function openPubsubConsumer(
  config: PubsubSourceConfig,
  after: string | undefined,
): Promise<StreamConsumer> {
  const committed = after === undefined ? 0 : Number(after);
  if (!Number.isSafeInteger(committed) || committed < 0) {
    throw new ConfigError(
      `the committed position of the pubsub topic \`${config.topic}\` is \`${after}\`, not a message number`,
      "the pipeline's state belongs to another source: delete state/<pipeline>.json to start over",
    );
  }
  const shape = pubsubShape(config);
  if (Number.isNaN(shape.anchorMs)) {
    throw new ConfigError(
      `pubsub anchor: \`${config.anchor}\` is not an ISO instant`,
      "e.g. anchor: 2025-01-01T00:00:00Z",
    );
  }
  return new PubsubConsumer(config, shape, committed + 1);
}

class PubsubConsumer implements StreamConsumer {
  readonly name: string;
  private next_: number;
  private readonly openedAt = performance.now();
  private readonly openedWall = Date.now();
  /** Delivery is in order: no message is available before the one ahead of it. */
  private floor = 0;

  constructor(
    private readonly config: PubsubSourceConfig,
    private readonly shape: PubsubShape,
    private readonly first: number,
  ) {
    this.name = `pubsub:${config.topic}`;
    this.next_ = first;
  }

  private ended(n = this.next_): boolean {
    return this.config.count !== undefined && n > this.config.count;
  }

  /** performance.now() at which position n becomes available (not yet ordered). */
  private availableAt(n: number): number {
    const { seed } = this.shape;
    const publish = this.shape.rate > 0 ? (n - this.first) * spacingMs(this.shape) : 0;
    const delay = inRange(this.config.delay_ms, unitDraw(seed, n, SALT_DELAY));
    const bound = inRange(this.config.jitter_ms, unitDraw(seed, n, SALT_JITTER_BOUND));
    const jitter = typeof this.config.jitter_ms === "number" ? bound * unitDraw(seed, n, SALT_JITTER) : bound;
    return this.openedAt + publish + delay + jitter;
  }

  /** When the next position is available, in order. */
  private readyAt(): number {
    return Math.max(this.floor, this.availableAt(this.next_));
  }

  async next(max: number, waitMs: number, signal: AbortSignal): Promise<StreamMessage[]> {
    const out: StreamMessage[] = [];
    if (this.ended() || signal.aborted) return out;
    let deadline = Number.POSITIVE_INFINITY;
    const encoder = new TextEncoder();
    while (out.length < max && !this.ended() && !signal.aborted) {
      const at = this.readyAt();
      const now = performance.now();
      if (at > now) {
        if (at > deadline) break;
        if (!(await sleep(Math.min(at, deadline) - now, signal))) break;
        continue;
      }
      this.floor = at;
      const n = this.next_++;
      const message = pubsubMessage(this.shape, n);
      out.push({
        position: String(n),
        data: encoder.encode(JSON.stringify(message)),
        deliveries: 1,
        storedAt: this.openedWall + (at - this.openedAt),
      });
      if (out.length === 1) deadline = performance.now() + waitMs;
    }
    return out;
  }

  /** Nothing to tell: the committed position is the pipeline's state. */
  async ack(_upTo: StreamMessage[]): Promise<void> {}

  async working(): Promise<void> {}

  /** Messages published (per the schedule) and not yet delivered. */
  async lag(): Promise<StreamLag | undefined> {
    const elapsed = performance.now() - this.openedAt;
    const published =
      this.shape.rate > 0 ? this.first + Math.floor(elapsed / spacingMs(this.shape)) : Number.POSITIVE_INFINITY;
    const last = Math.min(published, this.config.count ?? Number.POSITIVE_INFINITY);
    if (!Number.isFinite(last)) return undefined;
    return { messages: Math.max(0, last - this.next_ + 1) };
  }

  async close(): Promise<void> {}
}

/** Waits `ms`; false when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), Math.max(0, ms));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
