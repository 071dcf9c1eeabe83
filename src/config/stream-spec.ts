import { z } from "zod";

/** Micro-batching and poison-message settings shared by the streaming sources (SPEC section 9). */
export const streamSettings = {
  max_rows: z.number().int().positive().default(10000).describe("A micro-batch closes at this many messages..."),
  max_wait_ms: z.number().int().positive().default(1000).describe("...or this long after its first message."),
  max_message_bytes: z
    .number()
    .int()
    .positive()
    .default(1_048_576)
    .describe("A larger message is quarantined (with its stream position) without being parsed."),
  max_deliveries: z
    .number()
    .int()
    .positive()
    .default(5)
    .describe("A message whose micro-batch fails this often, isolated, goes to the dead letter."),
  compact_every: z
    .number()
    .int()
    .min(0)
    .default(50)
    .describe("Compact the pipeline's Delta tables every N micro-batches (0: never)."),
  compact_min_files: z
    .number()
    .int()
    .min(2)
    .default(10)
    .describe("Compaction rewrites a partition once it has this many files."),
};

/** A number, or `[min, max]`: a value drawn in that range (see each option for when it is drawn). */
const range = (max = Number.MAX_SAFE_INTEGER) => {
  const n = z.number().min(0).max(max);
  return z.union([n, z.tuple([n, n]).refine(([lo, hi]) => lo <= hi, { error: "expected [min, max] with min <= max" })]);
};
const rangeSpec = range();

/**
 * `pubsub`: the seed's asyncio pub/sub simulated in process (no broker). Positions are a global
 * sequence; the message at position n is a function of (seed, n) and the options that shape content
 * (partitions, keys, rate, anchor, dup and out-of-order rates), so a restarted worker regenerates
 * exactly the messages after its committed position. delay and jitter only change when a message
 * becomes available.
 */
export const pubsubSourceSpec = z.strictObject({
  type: z.literal("pubsub"),
  topic: z.string().default("pubsub").describe("The simulated topic's name (positions read `<topic>#<n>`)."),
  partitions: z.number().int().positive().default(12).describe("Partitions; a key always lands in the same one."),
  keys: z.number().int().positive().default(1000).describe("Distinct keys (accounts), skewed: a few are busy."),
  rate: rangeSpec
    .default(1000)
    .describe("Messages published per second ([min, max]: one rate drawn from the seed); 0: as fast as read."),
  delay_ms: rangeSpec.default(0).describe("Delivery delay of each message ([min, max]: drawn per message)."),
  jitter_ms: rangeSpec.default(0).describe("Extra random delay per message: up to this, or drawn in [min, max]."),
  dup_rate: range(0.5)
    .default(0)
    .describe(
      "Share of messages that are re-sends of an earlier message_id (at most 0.5; [min, max]: drawn once from the seed).",
    ),
  out_of_order_rate: range(1)
    .default(0)
    .describe("Share of messages created before the previous one ([min, max]: drawn once from the seed)."),
  seed: z.number().int().default(42).describe("Same seed, same messages at the same positions."),
  anchor: z
    .string()
    .default("2025-01-01T00:00:00Z")
    .describe("created_at of position 0; message n is created about n / rate seconds later."),
  count: z.number().int().nonnegative().optional().describe("Messages in the stream: after the last, the stream ends."),
  ...streamSettings,
});
