// End-to-end latency of `sluice stream` (SPEC section 11, issue 11: "end-to-end p99 latency at 10K msgs/s
// with max_wait_ms: 500"), per broker (NATS JetStream, Redis Streams):
//   a producer (sluice produce's own loop, bench/lib/timed-produce.mjs, which logs each publish batch's
//   send time) sends behavioral_events at RATE msgs/s for SECONDS into a fresh stream of a private broker,
//   while one worker (`sluice stream`, a child process) runs the pipeline of bench/lib/stream-harness.mjs
//   (contract -> merge on id -> partitioned Delta + DuckDB table; max_rows 10,000, max_wait_ms 500).
// A message's latency is from its send time to the commit of the micro-batch holding it: the worker's
// "micro-batch ID: succeeded" log line, written once every sink holds the batch, the run record is
// written and the state has moved (the ack to the broker follows). The message -> batch mapping is by
// stream position: the producer is the stream's only writer and sends no duplicates, so message k is the
// stream's k-th (NATS seq k, Redis the k-th XRANGE id) and belongs to the first batch whose last position
// (the record's state.position) is at or after it. Every message must be in the lake and the warehouse once.
//
// Reported per broker: p50/p95/p99/max of send -> commit (all messages, and after the first 10 s), split
// into send -> batch start (waiting in the broker and the micro-batch) and batch start -> commit
// (processing), publish ack times, the producer's achieved rate, batch sizes, lag, the worker's RSS and
// the machine's load (2 cores shared with other work: the figures move with it).
// Target: reported (the SPEC sets no bound); `pass` says every message landed once and the worker kept up
// (its lag at the end of production was under 2 x max_rows and it caught up within 30 s).
//
// Environment:
//   SLUICE_BENCH_LATENCY_BROKERS=nats,redis   SLUICE_BENCH_LATENCY_RATE=10000   SLUICE_BENCH_LATENCY_SECONDS=60
//   SLUICE_BENCH_LATENCY_MAX_ROWS=50000       SLUICE_BENCH_LATENCY_MAX_WAIT_MS=500
// max_rows is a cap, not a batch size: a worker that keeps up closes its batches at max_wait_ms (about
// 5,000 messages at 10K/s); one that falls behind takes bigger batches, whose fixed cost per micro-batch is
// spread over more messages, and catches up. With a 10,000 cap one worker sharing 2 cores with the producer
// stays behind (about 6.6K msgs/s) and the p99 measures the backlog (15-16 s); with 50,000 it keeps up.
//   SLUICE_BENCH_BROKER=machine (use 127.0.0.1:4222 / 6379), SLUICE_BENCH_STREAM_SINKS=delta (no DuckDB table)
// Details (per-batch series) go to bench/out/stream-latency.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  brokerVersion,
  envList,
  envNumber,
  lagPoint,
  lakeCounts,
  logger,
  MachineMonitor,
  makeProject,
  memoryMb,
  openStream,
  percentiles,
  ROOT,
  readTimedLog,
  round,
  startBroker,
  timedProduce,
  uniqueSuffix,
  Worker,
} from "../lib/stream-harness.mjs";

const BROKERS = envList("SLUICE_BENCH_LATENCY_BROKERS", ["nats", "redis"]);
const RATE = envNumber("SLUICE_BENCH_LATENCY_RATE", 10_000);
const SECONDS = envNumber("SLUICE_BENCH_LATENCY_SECONDS", 60);
const MAX_ROWS = envNumber("SLUICE_BENCH_LATENCY_MAX_ROWS", 50_000);
const MAX_WAIT_MS = envNumber("SLUICE_BENCH_LATENCY_MAX_WAIT_MS", 500);
const WARMUP_MS = 10_000;
const log = logger("stream-latency");

/** One broker's run; the summary plus the per-batch series for the details file. */
export async function latencyOn(
  kind,
  { rate = RATE, seconds = SECONDS, maxRows = MAX_ROWS, maxWaitMs = MAX_WAIT_MS } = {},
) {
  const broker = await startBroker(kind);
  const version = await brokerVersion(broker);
  const stream = await openStream(broker, `sluice_lat_${uniqueSuffix()}`, {
    max_rows: maxRows,
    max_wait_ms: maxWaitMs,
  });
  const project = makeProject(stream.source);
  const logFile = join(project.dir, "produce-times.log");
  let worker;
  try {
    worker = new Worker(project.dir);
    await worker.ready();
    log(
      `${kind} (${version}${broker.private ? ", private" : ", machine's"}): worker streaming; producing ${rate}/s for ${seconds} s`,
    );
    let producer;
    const monitor = new MachineMonitor(() => [worker.pid, producer?.pid, broker.pid]);
    const rss = [];
    const t0 = Date.now();
    const sampler = setInterval(() => {
      const m = memoryMb(worker.pid);
      if (m) rss.push({ t_s: Math.round((Date.now() - t0) / 1000), ...m });
      monitor.sample();
    }, 1000);
    let produced;
    let caughtUpS;
    let machine;
    try {
      producer = timedProduce({ url: stream.produceUrl, rate, durationS: seconds, logFile });
      produced = await producer.done;
      const producedAt = Date.now();
      const last = await stream.lastPosition();
      const behindAtEnd = worker.records().at(-1)?.lag?.messages;
      log(
        `${kind}: ${produced.published} sent in ${produced.seconds.toFixed(1)} s; waiting for the worker (lag ${behindAtEnd})`,
      );
      const caught = await worker.caughtUp(last, Math.max(120_000, (produced.published / 2000) * 1000));
      caughtUpS = (Date.now() - producedAt) / 1000;
      if (!caught)
        throw new Error(
          `${kind}: the worker did not reach ${last} within ${caughtUpS.toFixed(0)} s after the producer stopped`,
        );
    } finally {
      clearInterval(sampler);
      machine = monitor.summary();
    }
    const hwm = memoryMb(worker.pid)?.hwm;
    const stopped = await worker.stop();
    const records = worker.records();
    const positions = await stream.positions(produced.published);
    const sends = readTimedLog(logFile);
    const analysis = analyse({
      kind,
      records,
      commits: worker.commits,
      positions,
      sends,
      order: stream.order,
      startMs: t0,
    });
    const lake = await lakeCounts(project);
    const n = produced.published;
    const landed =
      lake.delta_rows === n && lake.delta_ids === n && (lake.duckdb_rows ?? n) === n && (lake.duckdb_ids ?? n) === n;
    const endLag = analysis.lag_at_producer_end;
    const keptUp = (endLag ?? 0) < 2 * maxRows && caughtUpS < 30;
    const lat = analysis.latency_ms;
    log(
      `${kind}: send -> commit p50 ${lat.p50} / p95 ${lat.p95} / p99 ${lat.p99} / max ${lat.max} ms over ${n} messages, ${records.length} batches; caught up ${caughtUpS.toFixed(1)} s after the producer; lake ${landed ? "ok" : JSON.stringify(lake)}`,
    );
    return {
      summary: {
        broker: `${version ?? kind}${broker.private ? " (private)" : " (machine's)"}`,
        rate_target: rate,
        rate_achieved: Math.round(n / produced.seconds),
        messages: n,
        seconds: round(produced.seconds, 1),
        max_rows: maxRows,
        max_wait_ms: maxWaitMs,
        sinks: project.sinks,
        ...analysis.summary,
        latency_ms: lat,
        latency_after_10s_ms: analysis.latency_after_warmup_ms,
        caught_up_after_producer_s: round(caughtUpS, 1),
        kept_up: keptUp,
        landed_once: landed,
        lake,
        worker_rss_mb: { last: rss.at(-1)?.rss, max: Math.max(...rss.map((r) => r.rss)), peak_hwm: hwm },
        compactions: worker.compactions.map((c) => ({ ms: c.ms, what: c.msg })),
        worker_problems: worker.problems().slice(0, 5),
        stream_summary: { batches: stopped.batches, failed: stopped.failed },
        machine,
      },
      series: { batches: analysis.perBatch, rss },
    };
  } finally {
    if (worker && !worker.exit) await worker.stop().catch(() => undefined);
    await stream.close().catch(() => undefined);
    await broker.stop().catch(() => undefined);
    project.remove();
  }
}

/**
 * Joins the producer's send times to the micro-batch commits by position. Latency of message k: commit of
 * its batch - send time of its publish batch; split at the record's started_at (batch start).
 */
function analyse({ kind, records, commits, positions, sends, order, startMs }) {
  const batches = records
    .filter((r) => r.state?.position !== undefined)
    .map((r) => ({
      last: String(r.state.position),
      start: Date.parse(r.started_at),
      finished: Date.parse(r.finished_at),
      commit: commits.get(r.batch_id) ?? Date.parse(r.finished_at),
      committedByLog: commits.has(r.batch_id),
      rows: r.rows.extracted,
      lag: r.lag,
      durations: r.durations_ms,
    }))
    .sort((a, b) => order(a.last, b.last));
  const e2e = [];
  const e2eWarm = [];
  const queued = [];
  const processing = [];
  const publish = [];
  const stored = [];
  let b = 0;
  let k = 0;
  const firstSend = sends[0]?.sent ?? startMs;
  for (const s of sends) {
    publish.push(s.acked - s.sent);
    for (let i = 0; i < s.n; i++, k++) {
      const pos = positions[k];
      while (b < batches.length && order(pos, batches[b].last) > 0) b++;
      if (b >= batches.length) throw new Error(`${kind}: message ${k + 1} at ${pos} is in no committed batch`);
      const batch = batches[b];
      const ms = batch.commit - s.sent;
      e2e.push(ms);
      if (s.sent - firstSend >= WARMUP_MS) e2eWarm.push(ms);
      queued.push(batch.start - s.sent);
      processing.push(batch.commit - batch.start);
      if (kind === "redis") stored.push(batch.commit - Number(pos.split("-")[0]));
    }
  }
  const lastSend = sends.at(-1)?.acked ?? startMs;
  // The lag of the last batch that started before production ended.
  const atEnd = batches.filter((x) => x.start <= lastSend).at(-1);
  const durations = batches.map((x) => x.commit - x.start);
  const gaps = batches.slice(1).map((x, i) => x.start - batches[i].commit);
  const stageMeans = {};
  for (const x of batches)
    for (const [k2, v] of Object.entries(x.durations ?? {})) stageMeans[k2] = (stageMeans[k2] ?? 0) + v;
  for (const k2 of Object.keys(stageMeans)) stageMeans[k2] = Math.round(stageMeans[k2] / batches.length);
  return {
    latency_ms: percentiles(e2e),
    latency_after_warmup_ms: percentiles(e2eWarm),
    lag_at_producer_end: atEnd?.lag?.messages,
    summary: {
      batches: batches.length,
      commit_time_from: batches.every((x) => x.committedByLog)
        ? "worker log (state committed)"
        : "some from finished_at",
      send_to_batch_start_ms: percentiles(queued),
      batch_start_to_commit_ms: percentiles(processing),
      ...(stored.length ? { broker_stored_to_commit_ms: percentiles(stored) } : {}),
      publish_ack_ms: percentiles(publish),
      batch_rows: percentiles(batches.map((x) => x.rows)),
      batch_ms: percentiles(durations),
      gap_between_batches_ms: percentiles(gaps),
      stage_ms_mean: stageMeans,
      lag_messages: percentiles(batches.map((x) => x.lag?.messages ?? 0)),
      lag_seconds: percentiles(batches.map((x) => x.lag?.seconds ?? 0)),
      lag_at_producer_end: atEnd?.lag,
    },
    perBatch: records.map(lagPoint),
  };
}

export default {
  name: `stream end-to-end latency at ${RATE / 1000}K msgs/s, max_wait_ms ${MAX_WAIT_MS} (${BROKERS.join(", ")})`,
  target: "reported: p99 send -> commit (every message lands once, the worker keeps up)",
  async run() {
    const t0 = performance.now();
    const per = {};
    const details = {};
    for (const kind of BROKERS) {
      const { summary, series } = await latencyOn(kind);
      per[kind] = summary;
      details[kind] = { summary, series };
    }
    mkdirSync(join(ROOT, "bench", "out"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "out", "stream-latency.json"), `${JSON.stringify(details, null, 2)}\n`);
    const worst = Math.max(...Object.values(per).map((s) => s.latency_ms.p99));
    return {
      seconds: worst / 1000,
      reference_seconds: MAX_WAIT_MS / 1000,
      ratio: worst / MAX_WAIT_MS,
      pass: Object.values(per).every((s) => s.landed_once && s.kept_up),
      extra: {
        p99_ms: Object.fromEntries(Object.entries(per).map(([k, s]) => [k, s.latency_ms.p99])),
        ...per,
        case_seconds: round((performance.now() - t0) / 1000, 1),
      },
    };
  },
};
