// Streaming throughput, Redis Streams (SPEC section 11): N messages of `behavioral_events` (key `id`, unique
// per record) loaded into a fresh stream key with `sluice generate --out redis://...`, then read by
//   (a) a bare loop: XREADGROUP GROUP g c COUNT 1000 STREAMS key > + XACK of those ids, per batch (ioredis);
//   (b) `sluice stream` (one worker, a child process): contract (quarantine) -> merge on id -> partitioned Delta.
// Each reader has its own consumer group, both over the same messages. Target: sluice >= 50 % of (a)'s msgs/s
// and >= 50K msgs/s. Timing and `extra` as in stream-nats.mjs (whose helpers this case uses).
//
// Environment: SLUICE_BENCH_STREAM_MESSAGES, SLUICE_BENCH_STREAM_MAX_ROWS (see stream-nats.mjs),
//   SLUICE_BENCH_REDIS_URL=redis://127.0.0.1:6379
//
// The machine's Redis is used; when it does not answer the case is an error saying so. The stream key (and
// with it every group) and the temp project are deleted afterwards.
import { Redis } from "ioredis";
import {
  engineOpenMs,
  generateInto,
  logger,
  MAX_ROWS,
  MESSAGES,
  result,
  round,
  runSluiceStream,
  uniqueSuffix,
} from "./stream-nats.mjs";

const REDIS_URL = process.env.SLUICE_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const log = logger("stream-redis");

/** The bare loop with a fresh group from the stream's start; seconds until `messages` were seen and acked. */
async function xreadgroupLoop(client, key, group, messages) {
  await client.xgroup("CREATE", key, group, "0");
  let seen = 0;
  const t0 = performance.now();
  while (seen < messages) {
    const res = await client.xreadgroup("GROUP", group, "c", "COUNT", 1000, "STREAMS", key, ">");
    const entries = res?.[0]?.[1] ?? [];
    if (entries.length === 0) throw new Error(`${group}: XREADGROUP returned nothing after ${seen} of ${messages}`);
    await client.xack(key, group, ...entries.map((e) => e[0]));
    seen += entries.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  await client.xgroup("DESTROY", key, group).catch(() => undefined);
  return seconds;
}

export default {
  name: "stream Redis Streams -> contract -> merge -> Delta (one worker) vs bare XREADGROUP+XACK loop",
  target: "sluice >= 50% of the XREADGROUP loop and >= 50K msgs/s",
  async run() {
    const t0 = performance.now();
    const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 1 });
    client.on("error", () => undefined); // reported by the connect below
    try {
      await client.connect();
      await client.ping();
    } catch (err) {
      client.disconnect();
      throw new Error(`Redis does not answer at ${REDIS_URL} (the machine's broker): ${err?.message ?? err}`);
    }
    const key = `sluice_bench_${uniqueSuffix()}`;
    try {
      log(`loading ${MESSAGES} messages into stream key ${key}`);
      const loadSeconds = await generateInto(`${REDIS_URL}/${key}`, MESSAGES);
      const length = await client.xlen(key);
      if (length !== MESSAGES) throw new Error(`stream key ${key} holds ${length} entries`);
      const [[lastId]] = await client.xrevrange(key, "+", "-", "COUNT", 1);
      log(`loaded in ${loadSeconds.toFixed(1)} s; last id ${lastId}`);
      const loopSeconds = await xreadgroupLoop(client, key, "bench_loop", MESSAGES);
      log(`XREADGROUP+XACK loop: ${loopSeconds.toFixed(2)} s (${Math.round(MESSAGES / loopSeconds)} msgs/s)`);
      const sluice = await runSluiceStream({
        tag: "stream-redis",
        source: {
          type: "redis_stream",
          url: REDIS_URL,
          stream: key,
          group: "bench_sluice",
          max_rows: MAX_ROWS,
          max_wait_ms: 500,
        },
        lastPosition: lastId,
        messages: MESSAGES,
      });
      const openMs = await engineOpenMs();
      return result({
        sluice,
        refSeconds: loopSeconds,
        messages: MESSAGES,
        reference: { xreadgroup_msgs_per_s: Math.round(MESSAGES / loopSeconds) },
        extra: {
          engine_open_close_ms: openMs,
          load_seconds: round(loadSeconds, 1),
          case_seconds: round((performance.now() - t0) / 1000, 1),
        },
      });
    } finally {
      await client.del(key).catch(() => undefined);
      client.disconnect();
    }
  },
};
