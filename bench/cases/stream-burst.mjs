// Burst (SPEC section 11, issue 11: "a 10-second burst at the producers' top rate while one worker runs:
// lag grows, then drains; the time to drain is reported; memory stays bounded"), per broker:
//   one worker (`sluice stream`, the pipeline of bench/lib/stream-harness.mjs, max_rows 10,000,
//   max_wait_ms 500) and one producer at a steady rate for the whole case; after WARMUP seconds, PRODUCERS
//   more producers send for 10 s as fast as they can (`--rate 1000000/s`: sluice produce's loop is the
//   limit); then the steady producer goes on until the lag is back to its steady level (at most
//   MAX_DRAIN seconds) and 10 s more. Producers are bench/lib/timed-produce.mjs (sluice produce's loop
//   with its send times logged), so the burst's end is its last send.
// Lag is read from the micro-batch records (`lag.messages`, `lag.seconds`, taken as each batch starts).
// The steady level is the highest lag of the batches in the 20 s before the burst producers were started
// (starting them takes CPU from the worker). The drain time is from the burst's last send to the start of
// the first batch whose lag is back at or under that level: by the records' lag.messages, by lag.seconds,
// and by the true backlog (messages the broker had acked to the producers minus messages committed, at
// each batch's start; NATS's lag.messages leaves out what the client has already pulled). Memory: the
// worker's VmRSS every second (the median before the burst, the peak, the median in the 10 s after the
// drain), VmHWM, and the largest micro-batch (never above max_rows; the source buffers at most 2 x max_rows).
// `seconds` is the drain time (the worse broker), `reference_seconds` the burst's length. Pass: the lag
// drained, no micro-batch above max_rows, RSS back within 1.3x of the pre-burst median in the 10 s after the
// drain (the peak is reported: a full micro-batch and a compaction between batches raise it, the burst's
// size must not), every message landed once.
//
// Environment:
//   SLUICE_BENCH_BURST_BROKERS=redis,nats  SLUICE_BENCH_BURST_STEADY_RATE=2000  SLUICE_BENCH_BURST_PRODUCERS=2
//   SLUICE_BENCH_BURST_SECONDS=10  SLUICE_BENCH_BURST_WARMUP_S=30  SLUICE_BENCH_BURST_MAX_DRAIN_S=300
//   SLUICE_BENCH_BURST_MAX_ROWS=10000  SLUICE_BENCH_BURST_MAX_WAIT_MS=500; SLUICE_BENCH_BROKER, _STREAM_SINKS as
//   in stream-latency.mjs. The lag and RSS series go to bench/out/stream-burst.json.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
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
  median,
  memoryMb,
  openStream,
  ROOT,
  readTimedLog,
  round,
  sleep,
  startBroker,
  timedProduce,
  uniqueSuffix,
  Worker,
} from "../lib/stream-harness.mjs";

const BROKERS = envList("SLUICE_BENCH_BURST_BROKERS", ["redis", "nats"]);
const STEADY_RATE = envNumber("SLUICE_BENCH_BURST_STEADY_RATE", 2000);
const PRODUCERS = envNumber("SLUICE_BENCH_BURST_PRODUCERS", 2);
const BURST_S = envNumber("SLUICE_BENCH_BURST_SECONDS", 10);
const WARMUP_S = envNumber("SLUICE_BENCH_BURST_WARMUP_S", 30);
const MAX_DRAIN_S = envNumber("SLUICE_BENCH_BURST_MAX_DRAIN_S", 300);
const MAX_ROWS = envNumber("SLUICE_BENCH_BURST_MAX_ROWS", 10_000);
const MAX_WAIT_MS = envNumber("SLUICE_BENCH_BURST_MAX_WAIT_MS", 500);
const STEADY_WINDOW_MS = 20_000;
const log = logger("stream-burst");

async function burstOn(kind) {
  const broker = await startBroker(kind);
  const version = await brokerVersion(broker);
  const stream = await openStream(broker, `sluice_burst_${uniqueSuffix()}`, {
    max_rows: MAX_ROWS,
    max_wait_ms: MAX_WAIT_MS,
  });
  const project = makeProject(stream.source);
  const steadyLog = join(project.dir, "steady.log");
  const burstLogs = Array.from({ length: PRODUCERS }, (_, i) => join(project.dir, `burst-${i}.log`));
  let worker;
  const producers = [];
  // The true backlog at each batch's start, broker-independent: messages the broker had stored (the
  // producers' acks) minus messages committed (the batches' commit lines) by then. NATS's lag.messages
  // leaves out what the client has already pulled (about 2 x max_rows), so the drain is timed on this too.
  const lagSeries = (t0) => {
    const records = worker.records();
    const stored = [steadyLog, ...burstLogs]
      .filter((f) => existsSync(f))
      .flatMap(readTimedLog)
      .sort((a, b) => a.acked - b.acked);
    const committed = records
      .map((r) => ({ at: worker.commits.get(r.batch_id) ?? Date.parse(r.finished_at), rows: r.rows.extracted }))
      .sort((a, b) => a.at - b.at);
    let i = 0;
    let j = 0;
    let n = 0;
    const points = [];
    for (const p of records.map(lagPoint).sort((a, b) => a.at - b.at)) {
      while (i < stored.length && stored[i].acked <= p.at) n += stored[i++].n;
      while (j < committed.length && committed[j].at <= p.at) n -= committed[j++].rows;
      points.push({ ...p, t_s: round((p.at - t0) / 1000, 1), backlog: n });
    }
    return { records, points };
  };
  try {
    worker = new Worker(project.dir);
    await worker.ready();
    log(
      `${kind} (${version}${broker.private ? ", private" : ", machine's"}): steady ${STEADY_RATE}/s, burst of ${PRODUCERS} producers after ${WARMUP_S} s`,
    );
    const monitor = new MachineMonitor(() => [worker.pid, broker.pid, ...producers.map((p) => p.pid)]);
    const rss = [];
    const t0 = Date.now();
    const sampler = setInterval(() => {
      const m = memoryMb(worker.pid);
      if (m) rss.push({ at: Date.now(), ...m });
      monitor.sample();
    }, 1000);
    let steady;
    let burstDone;
    let machine;
    let drainedAt;
    let backlogDrainedAt;
    let burstSpawned;
    let threshold;
    try {
      steady = timedProduce({ url: stream.produceUrl, rate: STEADY_RATE, durationS: 3600, logFile: steadyLog });
      producers.push(steady);
      await sleep(WARMUP_S * 1000);
      worker.assertAlive();
      burstSpawned = Date.now(); // the steady window ends here: starting producers takes CPU from the worker
      const burst = burstLogs.map((logFile) =>
        timedProduce({ url: stream.produceUrl, rate: 1_000_000, durationS: BURST_S, logFile }),
      );
      producers.push(...burst);
      burstDone = await Promise.all(burst.map((p) => p.done));
      const burstSends = burstLogs.flatMap(readTimedLog);
      const burstEnd = Math.max(...burstSends.map((s) => s.acked));
      const burstStart = Math.min(...burstSends.map((s) => s.sent));
      // The steady level: the batches of the 20 s before the burst (or, on a machine so slow that there
      // were none, every batch before it but the first); none at all: what max_wait_ms at the steady rate holds.
      const before = lagSeries(t0).points.filter((p) => p.at < burstSpawned);
      let pre = before.filter((p) => p.at >= burstSpawned - STEADY_WINDOW_MS);
      if (pre.length === 0) pre = before.slice(1);
      const fallback = (2 * STEADY_RATE * MAX_WAIT_MS) / 1000;
      threshold =
        pre.length > 0
          ? {
              messages: Math.max(...pre.map((p) => p.messages ?? 0)),
              seconds: Math.max(...pre.map((p) => p.seconds ?? 0)),
              backlog: Math.max(...pre.map((p) => p.backlog)),
              from: `${pre.length} batches before the burst`,
            }
          : {
              messages: fallback,
              seconds: (2 * MAX_WAIT_MS) / 1000,
              backlog: fallback,
              from: "no batch before the burst: 2 x max_wait_ms at the steady rate",
            };
      log(
        `${kind}: burst sent ${burstDone.reduce((a, d) => a + d.published, 0)} messages in ${((burstEnd - burstStart) / 1000).toFixed(1)} s; steady level ${threshold.messages} msgs lag / ${threshold.seconds.toFixed(2)} s / backlog ${threshold.backlog}; draining`,
      );
      const deadline = Date.now() + MAX_DRAIN_S * 1000;
      while (Date.now() < deadline) {
        worker.assertAlive();
        const after = lagSeries(t0).points.filter((p) => p.at > burstEnd);
        drainedAt ??= after.find((p) => (p.messages ?? 0) <= threshold.messages)?.at;
        backlogDrainedAt ??= after.find((p) => p.backlog <= threshold.backlog)?.at;
        if (drainedAt !== undefined && backlogDrainedAt !== undefined) break;
        await sleep(500);
      }
      await sleep(10_000);
      steady.stop();
      await steady.done;
      const last = await stream.lastPosition();
      if (!(await worker.caughtUp(last, 300_000))) throw new Error(`${kind}: the worker did not reach ${last}`);
    } finally {
      clearInterval(sampler);
      machine = monitor.summary();
      for (const p of producers) p.stop();
    }
    const hwm = memoryMb(worker.pid)?.hwm;
    await worker.stop();
    const steadyDone = await steady.done;
    const { records, points } = lagSeries(t0);
    const burstSends = burstLogs.flatMap(readTimedLog);
    const burstStart = Math.min(...burstSends.map((s) => s.sent));
    const burstEnd = Math.max(...burstSends.map((s) => s.acked));
    const burstMessages = burstDone.reduce((a, d) => a + d.published, 0);
    const published = burstMessages + steadyDone.published;
    const lake = await lakeCounts(project);
    const landed =
      lake.delta_rows === published &&
      lake.delta_ids === published &&
      (lake.duckdb_rows ?? published) === published &&
      (lake.duckdb_ids ?? published) === published;
    const after = points.filter((p) => p.at > burstStart);
    const peakMessages = Math.max(...after.map((p) => p.messages ?? 0));
    const peakSeconds = Math.max(...after.map((p) => p.seconds ?? 0));
    const backBySeconds = points.find((p) => p.at > burstEnd && (p.seconds ?? 0) <= threshold.seconds);
    const preRss = rss.filter((r) => r.at < burstSpawned && r.at >= burstSpawned - STEADY_WINDOW_MS).map((r) => r.rss);
    const afterRss = backlogDrainedAt
      ? rss.filter((r) => r.at >= backlogDrainedAt && r.at < backlogDrainedAt + 10_000).map((r) => r.rss)
      : [];
    const burstRss = rss.filter((r) => r.at >= burstStart).map((r) => r.rss);
    const rssBefore = median(preRss);
    const rssPeak = Math.max(...burstRss, 0);
    const maxBatch = Math.max(...records.map((r) => r.rows.extracted));
    const drainS = drainedAt === undefined ? undefined : (drainedAt - burstEnd) / 1000;
    const drained = drainedAt !== undefined && backlogDrainedAt !== undefined;
    const summary = {
      broker: `${version ?? kind}${broker.private ? " (private)" : " (machine's)"}`,
      steady_rate: STEADY_RATE,
      steady_rate_achieved: Math.round(steadyDone.published / steadyDone.seconds),
      burst: {
        producers: PRODUCERS,
        messages: burstMessages,
        seconds: round((burstEnd - burstStart) / 1000, 1),
        rate_achieved: Math.round(burstMessages / ((burstEnd - burstStart) / 1000)),
        per_producer: burstDone.map((d) => Math.round(d.published / d.seconds)),
      },
      max_rows: MAX_ROWS,
      max_wait_ms: MAX_WAIT_MS,
      sinks: project.sinks,
      steady_lag_level: { messages: threshold.messages, seconds: round(threshold.seconds, 2), from: threshold.from },
      peak_lag: { messages: peakMessages, seconds: round(peakSeconds, 2) },
      drain_s: round(drainS, 1),
      steady_lag_level_backlog: threshold.backlog,
      peak_backlog: Math.max(...points.map((p) => p.backlog)),
      drain_s_by_backlog: backlogDrainedAt ? round((backlogDrainedAt - burstEnd) / 1000, 1) : undefined,
      drain_s_by_lag_seconds: backBySeconds ? round((backBySeconds.at - burstEnd) / 1000, 1) : undefined,
      drain_msgs_per_s: drainS ? Math.round(peakMessages / ((drainedAt - burstStart) / 1000)) : undefined,
      largest_batch_rows: maxBatch,
      worker_rss_mb: {
        before_burst_median: rssBefore,
        peak_sampled: rssPeak,
        peak_hwm: hwm,
        after_drain_median: median(afterRss),
      },
      rss_peak_vs_before: round(rssPeak / rssBefore, 2),
      rss_after_drain_vs_before: round(median(afterRss) / rssBefore, 2),
      compactions: worker.compactions.map((c) => ({ t_s: round((c.at - t0) / 1000, 1), ms: c.ms, what: c.msg })),
      batches: records.length,
      landed_once: landed,
      lake,
      published,
      worker_problems: worker.problems().slice(0, 5),
      machine,
      pass: drained && maxBatch <= MAX_ROWS && median(afterRss) <= 1.3 * rssBefore && landed,
    };
    log(
      `${kind}: peak lag ${peakMessages} msgs / ${peakSeconds.toFixed(1)} s, drained ${drainS === undefined ? "NOT within the wait" : `${drainS.toFixed(1)} s after the burst`}; RSS ${rssBefore} -> peak ${rssPeak} MB`,
    );
    const marks = {
      burst_start_s: round((burstStart - t0) / 1000, 1),
      burst_end_s: round((burstEnd - t0) / 1000, 1),
      drained_s: drainedAt ? round((drainedAt - t0) / 1000, 1) : undefined,
      backlog_drained_s: backlogDrainedAt ? round((backlogDrainedAt - t0) / 1000, 1) : undefined,
    };
    return {
      summary: { ...summary, marks },
      series: {
        lag: points.map(({ t_s, rows, messages, seconds, backlog }) => ({ t_s, rows, messages, seconds, backlog })),
        rss: rss.map((r) => ({ t_s: round((r.at - t0) / 1000, 0), rss: r.rss })),
      },
    };
  } finally {
    for (const p of producers) p.stop();
    if (worker && !worker.exit) await worker.stop().catch(() => undefined);
    await stream.close().catch(() => undefined);
    await broker.stop().catch(() => undefined);
    project.remove();
  }
}

export default {
  name: `stream burst: ${BURST_S} s at the producers' top rate over ${STEADY_RATE}/s steady (${BROKERS.join(", ")})`,
  target: "lag drains after the burst; batches <= max_rows; RSS back within 1.3x after it",
  async run() {
    const t0 = performance.now();
    const per = {};
    const details = {};
    for (const kind of BROKERS) {
      const { summary, series } = await burstOn(kind);
      per[kind] = summary;
      details[kind] = { summary, series };
    }
    mkdirSync(join(ROOT, "bench", "out"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "out", "stream-burst.json"), `${JSON.stringify(details, null, 2)}\n`);
    const drains = Object.values(per).map((s) =>
      Math.max(s.drain_s ?? Number.POSITIVE_INFINITY, s.drain_s_by_backlog ?? Number.POSITIVE_INFINITY),
    );
    return {
      seconds: Math.max(...drains),
      reference_seconds: BURST_S,
      ratio: Math.max(...drains) / BURST_S,
      pass: Object.values(per).every((s) => s.pass),
      extra: { ...per, case_seconds: round((performance.now() - t0) / 1000, 1) },
    };
  },
};
