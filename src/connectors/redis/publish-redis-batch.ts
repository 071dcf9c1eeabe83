import type { Redis } from "ioredis";
import { SluiceError } from "../../errors.js";
import { redactSecrets } from "../../util/redact.js";
import type { BrokerPublisher, OutgoingMessage } from "../publisher.js";
import { connectRedis } from "./connect-redis.js";
import { parseRedisTarget, REDIS_DATA_FIELD, type RedisTarget } from "./publish-redis.js";

/** The companion hash of a stream key: batch id -> messages of it published so far, or `done`. */
export function batchesKey(streamKey: string): string {
  return `${streamKey}:sluice_batches`;
}

/** The companion sorted set ordering the completed batches (by completion time), for pruning. */
function batchOrderKey(streamKey: string): string {
  return `${streamKey}:sluice_batch_order`;
}

/** Completed batches remembered per stream key: older ones are forgotten (their hash fields removed). */
const REMEMBERED = 10_000;

/**
 * One window, atomically (a Lua script runs alone and its effects are replicated and persisted as one
 * unit): skips the messages of the window the hash says were published already, XADDs the rest,
 * and moves the batch's count to the window's end. KEYS: stream, hash. ARGV: batch, window start,
 * then per message its number of fields k and k name/value pairs (`data` first). Returns how many
 * entries it added.
 */
const WINDOW_SCRIPT = `
local done = redis.call('HGET', KEYS[2], ARGV[1])
if done == 'done' then return 0 end
local published = tonumber(done or '0')
local start = tonumber(ARGV[2])
local i = 3
local count = 0
local added = 0
while i <= #ARGV do
  local k = tonumber(ARGV[i])
  count = count + 1
  if start + count > published then
    local entry = {}
    for j = 1, 2 * k do entry[j] = ARGV[i + j] end
    redis.call('XADD', KEYS[1], '*', unpack(entry))
    added = added + 1
  end
  i = i + 1 + 2 * k
end
if start + count > published then redis.call('HSET', KEYS[2], ARGV[1], tostring(start + count)) end
return added
`;

/** Marks the batch complete and forgets the oldest completed batches. KEYS: hash, order. ARGV: batch, now, keep. */
const DONE_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], 'done')
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  for _, b in ipairs(old) do redis.call('HDEL', KEYS[1], b) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
end
return 1
`;

/**
 * A connection publishing batches to one Redis stream exactly once per entry, with the batch's
 * progress kept beside the stream (`<key>:sluice_batches`, a hash: batch id -> entries published
 * so far, `done` once complete).
 *
 * Redis has no server-side deduplication, so the sink never publishes a message twice by
 * resuming instead: each window of a batch is one Lua script that skips the messages the hash
 * counts as published and adds the rest together with the new count (all or nothing). A batch
 * published partly before a crash is continued where it stopped when published again with the
 * same messages in the same order (the sink numbers a batch's rows deterministically), so a
 * consumer sees each message once, in one order, possibly with a pause and other producers'
 * entries between two windows of the batch. `complete()` marks it `done`; the newest 10,000
 * completed batches per stream are remembered (`<key>:sluice_batch_order`), an older one is
 * published again if replayed. Both companion keys sit beside the stream key (one Redis; a
 * cluster would need a hash tag in the key).
 */
export class RedisBatchPublisher {
  readonly display: string;
  private closed = false;

  private constructor(
    private readonly client: Redis,
    private readonly target: RedisTarget,
    private readonly component: string,
  ) {
    this.display = target.display;
  }

  static async open(url: string, component: string): Promise<RedisBatchPublisher> {
    const target = parseRedisTarget(url, component);
    const client = await connectRedis(target.server, `sluice-${component}`, component);
    return new RedisBatchPublisher(client, target, component);
  }

  /**
   * Whether batch `batchId` was published completely. A stream key that is gone (deleted by an
   * operator, a reset) holds nothing: its companion keys, which describe the entries it had, are
   * removed, so a batch published before is published again rather than skipped.
   */
  async holds(batchId: string): Promise<boolean> {
    try {
      if ((await this.client.exists(this.target.key)) === 0) {
        await this.client.del(batchesKey(this.target.key), batchOrderKey(this.target.key));
        return false;
      }
      return (await this.client.hget(batchesKey(this.target.key), batchId)) === "done";
    } catch (err) {
      throw this.failure(err, "holds");
    }
  }

  /** A BrokerPublisher for publishAll: the windows of batch `batchId`, continued where a crash left it. */
  batch(batchId: string): BrokerPublisher {
    let offset = 0;
    return {
      display: this.display,
      publishBatch: async (messages: readonly OutgoingMessage[]) => {
        const entries = messages.flatMap((m) => [
          String(1 + (m.fields?.length ?? 0)),
          REDIS_DATA_FIELD,
          typeof m.data === "string" ? m.data : Buffer.from(m.data),
          ...(m.fields ?? []).flat(),
        ]);
        const start = offset;
        offset += messages.length;
        try {
          const added = await this.client.eval(
            WINDOW_SCRIPT,
            2,
            this.target.key,
            batchesKey(this.target.key),
            batchId,
            String(start),
            ...entries,
          );
          return Number(added);
        } catch (err) {
          throw this.failure(err, "publish");
        }
      },
      close: async () => undefined,
    };
  }

  /** Marks batch `batchId` complete (after its last window). */
  async complete(batchId: string, now: Date): Promise<void> {
    try {
      await this.client.eval(
        DONE_SCRIPT,
        2,
        batchesKey(this.target.key),
        batchOrderKey(this.target.key),
        batchId,
        String(now.getTime()),
        String(REMEMBERED),
      );
    } catch (err) {
      throw this.failure(err, "publish");
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private failure(err: unknown, stage: string): SluiceError {
    const text = redactSecrets(err instanceof Error ? err.message : String(err));
    return new SluiceError(`cannot publish to ${this.display}: ${text}`, {
      component: this.component,
      stage,
      hint: /WRONGTYPE/.test(text)
        ? `the key (or ${batchesKey(this.target.key)}) holds another type: pick another stream key`
        : "check that redis-server runs and has memory left (maxmemory)",
      transient: !/WRONGTYPE|OOM|NOAUTH|NOPERM|NOSCRIPT/.test(text),
      cause: err,
    });
  }
}
