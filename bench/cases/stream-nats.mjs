// Streaming throughput, NATS JetStream (SPEC section 11): N messages of `behavioral_events` (key `id`, unique
// per record) loaded into a fresh JetStream stream with `sluice generate --out nats://...`, then read by
//   (a) a bare durable pull consumer, AckPolicy.Explicit, acking every message (consume, 1,000 per pull);
//   (b) a bare durable pull consumer, AckPolicy.All, fetching batches of 1,000 and acking each batch's last;
//   (c) `sluice stream` (one worker, a child process): contract (quarantine) -> merge on id -> partitioned Delta.
// Each reader has its own durable, all over the same messages. Target: sluice >= 50 % of (b)'s msgs/s and
// >= 50K msgs/s. sluice's time is spawn -> the state's position reaching the stream's last sequence with no
// pending batch; `extra` also has the time from the first micro-batch's start to the last one's end, and where
// the time goes (stage totals over the micro-batch records, time inside records no stage accounts for,
// time between records, process start, tail).
//
// Environment:
//   SLUICE_BENCH_STREAM_MESSAGES=200000   messages per stream.
//   SLUICE_BENCH_STREAM_MAX_ROWS=50000    the source's max_rows (max_wait_ms 500).
//   SLUICE_BENCH_NATS_URL=nats://127.0.0.1:4222
//
// The machine's broker is used; when it does not answer the case is an error saying so. The stream (and
// with it every durable) and the temp project are deleted afterwards. Helpers shared with stream-redis.mjs
// are exported from here.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { stringify } from "yaml";
import { benchPipeline } from "../lib/stream-harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, "..", "..");
export const CLI = join(ROOT, "dist", "cli", "main.js");
export const MESSAGES = Math.max(1, Number(process.env.SLUICE_BENCH_STREAM_MESSAGES ?? 200_000));
export const MAX_ROWS = Math.max(1, Number(process.env.SLUICE_BENCH_STREAM_MAX_ROWS ?? 50_000));
export const TARGET_FRACTION = 0.5;
export const TARGET_MSGS_PER_S = 50_000;
const NATS_URL = process.env.SLUICE_BENCH_NATS_URL ?? "nats://127.0.0.1:4222";

export const round = (x, d = 3) => (typeof x === "number" && Number.isFinite(x) ? Number(x.toFixed(d)) : x);
export const logger = (tag) => (msg) => process.stderr.write(`  ${tag}: ${msg}\n`);
const log = logger("stream-nats");
export const uniqueSuffix = () => `${process.pid}_${Date.now().toString(36)}`;

/** `node dist/cli/main.js ARGS` in `cwd`: stdout, or a rejection with stderr's tail. */
export function cli(args, cwd = ROOT) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`sluice ${args.join(" ")} exited ${code}:\n${stderr.slice(-4000)}`)),
    );
  });
}

/** Loads `rows` messages of behavioral_events to `url` (nats://host/subject or redis://host/key); seconds. */
export async function generateInto(url, rows) {
  const t0 = performance.now();
  await cli(["generate", "behavioral_events", "--rows", String(rows), "--out", url, "--anchor", "2025-06-01"]);
  return (performance.now() - t0) / 1000;
}

/** The pipeline config: the stream source, a small contract (quarantine), merge on id, a partitioned Delta sink. */
export function projectYaml(source) {
  return stringify({ version: 1, data_dir: "./data", pipelines: { events: benchPipeline(source) } });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Peak resident set of a live process (Linux VmHWM), MB; undefined elsewhere. */
function rssPeakMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? round(Number(m[1]) / 1024, 1) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `sluice stream events --json` in a fresh temp project until the state's position is `lastPosition`
 * with no pending batch, then SIGTERM. Returns the wall seconds (spawn -> the poll seeing it), the
 * micro-batch records' analysis, the stop summary and the lake's row and key counts.
 */
export async function runSluiceStream({ tag, source, lastPosition, messages }) {
  const say = logger(tag);
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-stream-"));
  try {
    writeFileSync(join(dir, "sluice.yaml"), projectYaml(source));
    const stateFile = join(dir, "data", "state", "events.json");
    const spawnedAt = Date.now();
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, "stream", "events", "--json"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
    let exit;
    void exited.then((e) => {
      exit = e;
    });
    const deadline = t0 + Math.max(120_000, messages / 2); // at least 2K msgs/s, or it is broken
    let seconds;

    while (true) {
      if (exit) throw new Error(`sluice stream exited early (${JSON.stringify(exit)}):\n${stderr.slice(-4000)}`);
      let state;
      try {
        state = JSON.parse(readFileSync(stateFile, "utf8"));
      } catch {
        state = undefined; // not there yet (or mid-rename)
      }
      if (state && state.pending === undefined && String(state.position) === String(lastPosition)) {
        seconds = (performance.now() - t0) / 1000;
        break;
      }
      if (performance.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(
          `sluice stream did not reach position ${lastPosition} in ${Math.round((deadline - t0) / 1000)} s (state ${JSON.stringify(state)}):\n${stderr.slice(-4000)}`,
        );
      }
      await sleep(20);
    }
    const rss = rssPeakMb(child.pid);
    const tStop = performance.now();
    child.kill("SIGTERM");
    const { code, signal } = await exited;
    const stopSeconds = (performance.now() - tStop) / 1000;
    if (code !== 0) throw new Error(`sluice stream exited ${code ?? signal} after SIGTERM:\n${stderr.slice(-4000)}`);
    const summary = JSON.parse(stdout);
    const analysis = analyseRecords(
      join(dir, "data", "runs", "events"),
      logLines(stderr),
      spawnedAt,
      spawnedAt + seconds * 1000,
    );
    const lakeOut = await cli(
      [
        "query",
        "--delta",
        "l=data/lake/events",
        "SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS ids FROM l",
        "--format",
        "json",
      ],
      dir,
    );
    const [lake] = JSON.parse(lakeOut);
    say(
      `sluice: ${seconds.toFixed(2)} s, ${analysis.batches} micro-batches, lake ${lake.n} rows / ${lake.ids} ids, ${summary.rows.quarantined} quarantined`,
    );
    // The generated records are clean (no --chaos) with unique ids: every message is one lake row.
    if (
      Number(lake.n) !== messages ||
      Number(lake.ids) !== messages ||
      summary.rows.extracted !== messages ||
      summary.rows.quarantined !== 0
    ) {
      throw new Error(
        `after the stream the lake holds ${lake.n} rows / ${lake.ids} ids (expected ${messages}); summary ${JSON.stringify(summary)}`,
      );
    }
    return { seconds, stopSeconds, rssPeakMb: rss, summary, lake, ...analysis };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The worker's JSON log lines on stderr: [{ at (ms), msg }]. */
function logLines(text) {
  const out = [];
  for (const line of text.split("\n")) {
    try {
      const j = JSON.parse(line);
      if (typeof j.msg === "string" && j.time) out.push({ at: Date.parse(j.time), msg: j.msg });
    } catch {
      // not a log line
    }
  }
  return out;
}

/**
 * Where the stream's time went, from the micro-batch records (data/runs/events/*.json) and the worker's
 * log: stage totals (durations_ms summed); time inside records no stage accounts for (engine open/close,
 * intent write, scratch dir, quarantine publish); time between records, split at the worker's
 * "micro-batch ID: succeeded" log line (written after the ledger record and the state commit, before the
 * ack) into record+state writes and ack + waiting for the next batch + lag; process start (spawn -> the
 * "streaming" line: node, config, lock, consumer created; then -> the first record: first fill); tail
 * (last record -> the poll seeing the committed position).
 */
function analyseRecords(runsDir, logs, spawnedAtMs, seenAtMs) {
  const records = (existsSync(runsDir) ? readdirSync(runsDir) : [])
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(runsDir, f), "utf8")))
    .filter((r) => r.status === "succeeded")
    .sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  if (records.length === 0) return { batches: 0 };
  const stage_ms_totals = {};
  let inRecordMs = 0;
  let unaccountedInRecordMs = 0;
  let betweenMs = 0;
  let recordAndStateMs = 0;
  let ackAndFillMs = 0;
  const perBatch = [];
  for (const [i, r] of records.entries()) {
    const start = Date.parse(r.started_at);
    const end = Date.parse(r.finished_at);
    const stages = Object.values(r.durations_ms).reduce((a, b) => a + b, 0);
    for (const [k, v] of Object.entries(r.durations_ms)) stage_ms_totals[k] = (stage_ms_totals[k] ?? 0) + v;
    inRecordMs += end - start;
    unaccountedInRecordMs += end - start - stages;
    const gap = i + 1 < records.length ? Date.parse(records[i + 1].started_at) - end : undefined;
    if (gap !== undefined) {
      betweenMs += gap;
      const done = logs.find((l) => l.msg.startsWith(`micro-batch ${r.batch_id}:`));
      if (done) {
        recordAndStateMs += done.at - end;
        ackAndFillMs += Date.parse(records[i + 1].started_at) - done.at;
      }
    }
    perBatch.push({ rows: r.rows.extracted, ms: end - start, stages_ms: r.durations_ms, gap_after_ms: gap });
  }
  const first = Date.parse(records[0].started_at);
  const last = Date.parse(records.at(-1).finished_at);
  const rows = records.reduce((a, r) => a + r.rows.extracted, 0);
  const streaming = logs.find((l) => l.msg.startsWith("streaming "))?.at;
  return {
    batches: records.length,
    busy_seconds: (last - first) / 1000,
    busy_msgs_per_s: rows / ((last - first) / 1000),
    stage_ms_totals,
    time_ms: {
      process_start_to_first_batch: first - spawnedAtMs,
      ...(streaming
        ? { start_to_consumer_open: streaming - spawnedAtMs, consumer_open_to_first_batch: first - streaming }
        : {}),
      in_records: inRecordMs,
      in_records_no_stage: unaccountedInRecordMs,
      between_records: betweenMs,
      between_records_record_and_state_writes: recordAndStateMs,
      between_records_ack_fill_lag: ackAndFillMs,
      last_batch_to_position_seen: Math.round(seenAtMs - last),
    },
    per_batch_ms: {
      record_mean: round(inRecordMs / records.length, 1),
      no_stage_mean: round(unaccountedInRecordMs / records.length, 1),
      gap_mean: records.length > 1 ? round(betweenMs / (records.length - 1), 1) : 0,
      first_batch: perBatch[0],
      last_batch: perBatch.at(-1),
    },
  };
}

/** How long one Engine.open + close takes in this process (a micro-batch opens one): mean over `times`, ms. */
export async function engineOpenMs(times = 5) {
  const { Engine } = await import("../../dist/engine/engine.js");
  const t0 = performance.now();
  for (let i = 0; i < times; i++) (await Engine.open()).close();
  return round((performance.now() - t0) / times, 1);
}

/** The result row shared by both cases. */
export function result({ sluice, reference, refSeconds, messages, extra }) {
  const sluiceRate = messages / sluice.seconds;
  const refRate = messages / refSeconds;
  return {
    seconds: sluice.seconds,
    reference_seconds: refSeconds,
    ratio: sluice.seconds / refSeconds,
    pass: sluiceRate >= TARGET_FRACTION * refRate && sluiceRate >= TARGET_MSGS_PER_S,
    extra: {
      messages,
      max_rows: MAX_ROWS,
      sluice_msgs_per_s: Math.round(sluiceRate),
      sluice_vs_reference: round(sluiceRate / refRate, 3),
      ...reference,
      sluice_busy_msgs_per_s: Math.round(sluice.busy_msgs_per_s),
      sluice_busy_seconds: round(sluice.busy_seconds),
      batches: sluice.batches,
      stage_ms_totals: sluice.stage_ms_totals,
      time_ms: sluice.time_ms,
      per_batch_ms: sluice.per_batch_ms,
      stop_after_sigterm_s: round(sluice.stopSeconds),
      rss_peak_mb: sluice.rssPeakMb,
      quarantined: sluice.summary.rows.quarantined,
      ...extra,
    },
  };
}

/** One bare reader over the whole stream with its own durable; seconds until `messages` were seen. */
async function natsLoop(nc, jsm, stream, durable, messages, ackAll) {
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: ackAll ? AckPolicy.All : AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: -1,
  });
  const consumer = await jetstream(nc).consumers.get(stream, durable);
  let seen = 0;
  const t0 = performance.now();
  if (ackAll) {
    while (seen < messages) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 5000 });
      let last;
      for await (const m of batch) {
        last = m;
        seen++;
      }
      last?.ack();
      if (!last) throw new Error(`${durable}: a fetch returned nothing after ${seen} of ${messages} messages`);
    }
  } else {
    const iter = await consumer.consume({ max_messages: 1000 });
    for await (const m of iter) {
      m.ack();
      if (++seen >= messages) break;
    }
    iter.stop();
  }
  await nc.flush();
  const seconds = (performance.now() - t0) / 1000;
  await jsm.consumers.delete(stream, durable).catch(() => undefined);
  return seconds;
}

export default {
  name: "stream NATS JetStream -> contract -> merge -> Delta (one worker) vs bare AckAll loop",
  target: "sluice >= 50% of the AckAll loop and >= 50K msgs/s",
  async run() {
    const t0 = performance.now();
    const server = NATS_URL.replace(/^nats:\/\//, "");
    let nc;
    try {
      nc = await connect({ servers: server, timeout: 3000, name: "sluice-bench" });
    } catch (err) {
      throw new Error(
        `NATS does not answer at ${NATS_URL} (the machine's broker, JetStream on): ${err?.message ?? err}`,
      );
    }
    const jsm = await jetstreamManager(nc).catch((err) => {
      throw new Error(`NATS at ${NATS_URL} has no JetStream: ${err?.message ?? err}`);
    });
    const subject = `sluice_bench_${uniqueSuffix()}.events`;
    const stream = subject.replace(/\W/g, "_");
    try {
      log(`loading ${MESSAGES} messages into stream ${stream}`);
      const loadSeconds = await generateInto(`${NATS_URL}/${subject}`, MESSAGES);
      const info = await jsm.streams.info(stream);
      const lastSeq = info.state.last_seq;
      if (info.state.messages !== MESSAGES) throw new Error(`stream ${stream} holds ${info.state.messages} messages`);
      log(`loaded in ${loadSeconds.toFixed(1)} s; last seq ${lastSeq}`);
      const explicitSeconds = await natsLoop(nc, jsm, stream, "bench_explicit", MESSAGES, false);
      log(`per-message ack loop: ${explicitSeconds.toFixed(2)} s (${Math.round(MESSAGES / explicitSeconds)} msgs/s)`);
      const ackAllSeconds = await natsLoop(nc, jsm, stream, "bench_ackall", MESSAGES, true);
      log(`AckAll loop: ${ackAllSeconds.toFixed(2)} s (${Math.round(MESSAGES / ackAllSeconds)} msgs/s)`);
      const sluice = await runSluiceStream({
        tag: "stream-nats",
        source: {
          type: "nats",
          url: NATS_URL,
          stream,
          durable: "bench_sluice",
          max_rows: MAX_ROWS,
          max_wait_ms: 500,
        },
        lastPosition: String(lastSeq),
        messages: MESSAGES,
      });
      const openMs = await engineOpenMs();
      return result({
        sluice,
        refSeconds: ackAllSeconds,
        messages: MESSAGES,
        reference: {
          ackall_msgs_per_s: Math.round(MESSAGES / ackAllSeconds),
          per_message_ack_msgs_per_s: Math.round(MESSAGES / explicitSeconds),
        },
        extra: {
          engine_open_close_ms: openMs,
          load_seconds: round(loadSeconds, 1),
          case_seconds: round((performance.now() - t0) / 1000, 1),
        },
      });
    } finally {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close().catch(() => undefined);
    }
  },
};
