import type { PubsubSourceConfig } from "../../config/spec.js";

/** One message of the simulated topic: the columns of the `pubsub` generate dataset. */
export interface PubsubMessage {
  readonly message_id: string;
  readonly partition: number;
  readonly key: string;
  /** The body as JSON text: type, key, version, and amount or carrier. */
  readonly value: string;
  /** When the producer made it (ISO, UTC, milliseconds). */
  readonly created_at: string;
  /** When the broker accepted this delivery (a re-send has a later one than its original). */
  readonly published_at: string;
}

const MESSAGE_TYPES = ["order_created", "order_paid", "order_shipped", "order_cancelled", "profile_updated"];
const TYPE_WEIGHTS = [30, 25, 20, 5, 20];
const CARRIERS = ["ups", "fedex", "dhl", "usps"];
/** A re-send repeats a message at most this many positions back (a producer's retry window). */
const RESEND_WINDOW = 64;

// Salts: each draw of a position is independent of the others.
const S = { dup: 1, back: 2, key: 3, type: 4, amount: 5, carrier: 6, late: 7, lateBy: 8, latency: 9, id: 10 };
const S_RATE = { rate: 101, dup: 102, ooo: 103 };

/** 32-bit finalizer (murmur3 fmix32). */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit draw for (seed, n, salt); n up to 2^53. */
function draw(seed: number, n: number, salt: number): number {
  let h = fmix((seed | 0) ^ 0x9e3779b9);
  h = fmix(h ^ (n >>> 0));
  h = fmix(h ^ Math.floor(n / 2 ** 32));
  return fmix(h ^ Math.imul(salt, 0x27d4eb2f));
}

/** A uniform draw in [0, 1) for (seed, n, salt). */
export function unitDraw(seed: number, n: number, salt: number): number {
  return draw(seed, n, salt) / 2 ** 32;
}

/** A fixed value, or one drawn in [min, max] by `u` (a draw in [0, 1)). */
export function inRange(value: number | readonly [number, number], u: number): number {
  return typeof value === "number" ? value : value[0] + (value[1] - value[0]) * u;
}

/** The options that shape content, with ranges drawn once from the seed. */
export interface PubsubShape {
  readonly seed: number;
  readonly partitions: number;
  readonly keys: number;
  /** Messages per second (0: as fast as read; created_at then 1 ms apart). */
  readonly rate: number;
  readonly dupRate: number;
  readonly outOfOrderRate: number;
  readonly anchorMs: number;
}

export function pubsubShape(config: PubsubSourceConfig): PubsubShape {
  const { seed } = config;
  return {
    seed,
    partitions: config.partitions,
    keys: config.keys,
    rate: inRange(config.rate, unitDraw(seed, 0, S_RATE.rate)),
    dupRate: inRange(config.dup_rate, unitDraw(seed, 0, S_RATE.dup)),
    outOfOrderRate: inRange(config.out_of_order_rate, unitDraw(seed, 0, S_RATE.ooo)),
    anchorMs: Date.parse(config.anchor),
  };
}

/** Milliseconds between two publishes at the shape's rate. */
export function spacingMs(shape: PubsubShape): number {
  return shape.rate > 0 ? 1000 / shape.rate : 1;
}

/**
 * The position whose message position `n` (1-based) delivers: `n` itself, or for a re-send (with
 * probability dup_rate) the original of a position up to RESEND_WINDOW back, followed to the first
 * send. Pure function of (seed, n, dup_rate).
 */
export function originalOf(shape: PubsubShape, n: number): number {
  let m = n;
  while (m > 1 && unitDraw(shape.seed, m, S.dup) < shape.dupRate) {
    m = m - 1 - Math.floor(unitDraw(shape.seed, m, S.back) * Math.min(m - 1, RESEND_WINDOW));
  }
  return m;
}

/** When position `n` was published (epoch ms): its slot at the rate plus a few ms of broker latency. */
function publishedMs(shape: PubsubShape, n: number): number {
  const spacing = spacingMs(shape);
  return Math.floor(shape.anchorMs + n * spacing + unitDraw(shape.seed, n, S.latency) * Math.min(20, spacing));
}

/**
 * The message at position `n` (1-based): a pure function of (shape, n). A re-send repeats its
 * original's message_id, key, value and created_at with a later published_at; an out-of-order
 * message was created before the previous position's slot (1 to 60 s late).
 */
export function pubsubMessage(shape: PubsubShape, n: number): PubsubMessage {
  const { seed } = shape;
  const m = originalOf(shape, n);
  const spacing = spacingMs(shape);
  const u = (salt: number) => unitDraw(seed, m, salt);
  const keyIndex = Math.min(shape.keys - 1, Math.floor(shape.keys * u(S.key) * u(S.key)));
  const key = `acct-${String(keyIndex).padStart(7, "0")}`;
  const partition = draw(seed ^ 0x5bd1e995, keyIndex, 12) % shape.partitions;
  const type = weighted(u(S.type));
  const body: Record<string, unknown> = { type: MESSAGE_TYPES[type], key, version: m };
  if (type < 2) body.amount = Math.round((5 + 195 * u(S.amount) * u(S.amount)) * 100) / 100;
  if (type === 2) body.carrier = CARRIERS[Math.floor(u(S.carrier) * CARRIERS.length)];
  const late = u(S.late) < shape.outOfOrderRate;
  const slot = Math.floor(shape.anchorMs + m * spacing);
  const createdMs = late ? slot - Math.ceil(spacing) - 1000 - Math.floor(u(S.lateBy) * 59_000) : slot;
  const firstPublished = publishedMs(shape, m);
  const published = m === n ? firstPublished : Math.max(publishedMs(shape, n), firstPublished + 1);
  return {
    message_id: uuid(seed, m),
    partition,
    key,
    value: JSON.stringify(body),
    created_at: new Date(createdMs).toISOString(),
    published_at: new Date(published).toISOString(),
  };
}

function weighted(u: number): number {
  const total = TYPE_WEIGHTS.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let i = 0; i < TYPE_WEIGHTS.length - 1; i++) {
    acc += TYPE_WEIGHTS[i]! / total;
    if (u < acc) return i;
  }
  return TYPE_WEIGHTS.length - 1;
}

/** A version-4-shaped UUID from (seed, m). */
function uuid(seed: number, m: number): string {
  const w = [0, 1, 2, 3].map((i) => draw(seed, m, S.id + i));
  w[1] = (w[1]! & 0xffff0fff) | 0x4000; // version 4
  w[2] = ((w[2]! & 0x3fffffff) | 0x80000000) >>> 0; // variant 1
  const hex = w.map((x) => (x >>> 0).toString(16).padStart(8, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
