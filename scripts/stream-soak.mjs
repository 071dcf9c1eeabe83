#!/usr/bin/env node
// `npm run soak [-- --broker redis|nats] [--minutes 10] [--rate 10000] [--sample-s 10] [--max-rows 10000]
//  [--max-wait-ms 500] [--no-trim]`: memory of a long-running `sluice stream` (SPEC section 11, issue 11:
// "RSS after 10 minutes of streaming within 1.2x of RSS after 2 minutes").
//
// One worker (`sluice stream`, the pipeline of bench/lib/stream-harness.mjs: contract -> merge on id ->
// partitioned Delta + DuckDB table) on a private broker (SLUICE_BENCH_BROKER=machine: the machine's), fed by
// `sluice produce behavioral_events --rate RATE/s` for the whole soak. Every --sample-s seconds (from the
// producer's start) it reads the worker's VmRSS / VmHWM (/proc/PID/status), the newest micro-batch record
// (lag) and the committed position, and prints a progress line on stderr; at the end it prints the JSON
// result on stdout (also written to bench/out/stream-soak-BROKER.json): the RSS series, RSS at 2 min and at
// the end and their ratio, the same with the medians of the minute up to each point (`pass`: that ratio
// <= 1.2; one reading swings by 20 % with the worker's micro-batch cycle), whether the worker kept up,
// lag and the machine's load. Unless --no-trim, the messages before the committed position are deleted
// from the stream at every sample (XTRIM MINID / a JetStream purge) so a 10-minute soak at 10K/s does not
// hold 6M messages in the broker; the worker never reads them again.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  brokerVersion,
  lagPoint,
  MachineMonitor,
  makeProject,
  median,
  memoryMb,
  openStream,
  percentiles,
  produce,
  ROOT,
  round,
  sleep,
  startBroker,
  uniqueSuffix,
  Worker,
} from "../bench/lib/stream-harness.mjs";

const { values: opts } = parseArgs({
  options: {
    broker: { type: "string", default: "redis" },
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "10000" },
    "sample-s": { type: "string", default: "10" },
    "max-rows": { type: "string", default: "10000" },
    "max-wait-ms": { type: "string", default: "500" },
    "early-min": { type: "string", default: "2" },
    "no-trim": { type: "boolean", default: false },
  },
});
const kind = opts.broker;
if (kind !== "redis" && kind !== "nats") throw new Error(`--broker ${kind}: redis or nats`);
const minutes = Number(opts.minutes);
const rate = Number(opts.rate);
const sampleS = Number(opts["sample-s"]);
const earlyS = Number(opts["early-min"]) * 60;
const endS = minutes * 60;
const micro = { max_rows: Number(opts["max-rows"]), max_wait_ms: Number(opts["max-wait-ms"]) };
const say = (m) => process.stderr.write(`soak ${kind}: ${m}\n`);

/** The newest micro-batch record (file names start with the run's start time). */
function newestRecord(dir) {
  const runs = join(dir, "data", "runs", "events");
  let files;
  try {
    files = readdirSync(runs)
      .filter((f) => f.endsWith(".json"))
      .sort();
  } catch {
    return undefined;
  }
  for (const f of files.reverse()) {
    try {
      const r = JSON.parse(readFileSync(join(runs, f), "utf8"));
      if (r.status === "succeeded") return { record: r, count: files.length };
    } catch {
      // being written
    }
  }
  return undefined;
}

const broker = await startBroker(kind);
const version = await brokerVersion(broker);
const stream = await openStream(broker, `sluice_soak_${uniqueSuffix()}`, micro);
const project = makeProject(stream.source);
let worker;
let producer;
let exitCode = 0;
try {
  worker = new Worker(project.dir);
  await worker.ready();
  say(
    `${version}${broker.private ? " (private)" : " (machine's)"}, worker pid ${worker.pid} streaming; producing ${rate}/s for ${minutes} min, a sample every ${sampleS} s`,
  );
  producer = produce({ url: stream.produceUrl, rate, durationS: endS + 30 });
  const monitor = new MachineMonitor(() => [worker.pid, producer.pid, broker.pid]);
  const t0 = Date.now();
  const series = [];
  for (let i = 1; i * sampleS <= endS; i++) {
    await sleep(Math.max(0, t0 + i * sampleS * 1000 - Date.now()));
    worker.assertAlive();
    const mem = memoryMb(worker.pid);
    const newest = newestRecord(project.dir);
    const state = worker.state();
    monitor.sample();
    const point = {
      t_s: i * sampleS,
      rss_mb: mem?.rss,
      hwm_mb: mem?.hwm,
      batches: newest?.count ?? 0,
      lag_messages: newest?.record.lag?.messages,
      lag_seconds: round(newest?.record.lag?.seconds, 2),
      load_1m: monitor.loads.at(-1),
    };
    series.push(point);
    say(
      `${String(point.t_s).padStart(4)} s  rss ${point.rss_mb} MB (peak ${point.hwm_mb})  batches ${point.batches}  lag ${point.lag_messages ?? "-"} msgs / ${point.lag_seconds ?? "-"} s  load ${point.load_1m}`,
    );
    const committed =
      state?.position ?? (worker.commits.has(newest?.record.batch_id) ? newest?.record.state?.position : undefined);
    if (!opts["no-trim"] && committed !== undefined) await stream.trim(String(committed)).catch(() => undefined);
  }
  const machine = monitor.summary();
  producer.stop();
  const produced = await producer.done;
  const stopped = await worker.stop();
  const records = worker.records().map(lagPoint);
  const at = (s) => series.find((p) => p.t_s === s)?.rss_mb;
  const around = (s) => median(series.filter((p) => Math.abs(p.t_s - s) <= sampleS).map((p) => p.rss_mb));
  // One reading swings by 20 % with where the worker is in its micro-batch cycle: also compare the median
  // (and the highest) of the samples of the minute up to each point.
  const minute = (s) => series.filter((p) => p.t_s > s - 60 && p.t_s <= s).map((p) => p.rss_mb);
  const early = at(earlyS);
  const late = at(endS);
  const ratio = early && late ? late / early : undefined;
  const medianRatio = around(earlyS) && around(endS) ? around(endS) / around(earlyS) : undefined;
  const result = {
    broker: `${version ?? kind}${broker.private ? " (private)" : " (machine's)"}`,
    rate_target: rate,
    rate_achieved: Math.round(produced.published / produced.seconds),
    published: produced.published,
    minutes,
    ...micro,
    sinks: project.sinks,
    rss_mb_at: { [`${earlyS}s`]: early, [`${endS}s`]: late },
    rss_ratio: round(ratio, 3),
    rss_ratio_median_of_3: round(medianRatio, 3),
    rss_mb_last_minute_to: {
      [`${earlyS}s`]: { median: median(minute(earlyS)), max: Math.max(...minute(earlyS)) },
      [`${endS}s`]: { median: median(minute(endS)), max: Math.max(...minute(endS)) },
    },
    rss_ratio_minute_median: round(median(minute(endS)) / median(minute(earlyS)), 3),
    rss_ratio_minute_max: round(Math.max(...minute(endS)) / Math.max(...minute(earlyS)), 3),
    target: `RSS at ${endS} s within 1.2x of RSS at ${earlyS} s`,
    // On the medians of a minute (7 readings): a single reading's swing alone can cross 1.2x.
    pass: median(minute(endS)) / median(minute(earlyS)) <= 1.2,
    pass_single_reading: ratio !== undefined && ratio <= 1.2,
    kept_up: (series.at(-1)?.lag_messages ?? 0) < 4 * micro.max_rows,
    rss_peak_hwm_mb: series.at(-1)?.hwm_mb,
    batches: stopped.batches,
    failed: stopped.failed,
    rows: stopped.rows,
    batch_rows: percentiles(records.map((r) => r.rows)),
    lag_messages: percentiles(records.map((r) => r.messages ?? 0)),
    lag_messages_at: {
      [`${earlyS}s`]: series.find((p) => p.t_s === earlyS)?.lag_messages,
      [`${endS}s`]: series.at(-1)?.lag_messages,
    },
    lag_seconds: percentiles(records.map((r) => r.seconds ?? 0)),
    compactions: worker.compactions.map((c) => ({ t_s: round((c.at - t0) / 1000, 1), ms: c.ms, what: c.msg })),
    trimmed: !opts["no-trim"],
    machine,
    worker_problems: worker.problems().slice(0, 5),
    series,
  };
  mkdirSync(join(ROOT, "bench", "out"), { recursive: true });
  const out = join(ROOT, "bench", "out", `stream-soak-${kind}.json`);
  writeFileSync(out, `${JSON.stringify({ ...result, records }, null, 2)}\n`);
  say(
    `RSS ${early} MB at ${earlyS} s -> ${late} MB at ${endS} s: ${round(ratio, 3)}x single readings; medians of the minute before each: ${result.rss_ratio_minute_median}x (${result.pass ? "pass" : "MISS"}, target <= 1.2x); worker ${result.kept_up ? "kept up" : "fell behind"}; details in ${out}`,
  );
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} catch (err) {
  exitCode = 1;
  process.stderr.write(`soak ${kind} failed: ${err?.stack ?? err}\n`);
} finally {
  producer?.stop();
  if (worker && !worker.exit) await worker.stop().catch(() => undefined);
  await stream.close().catch(() => undefined);
  await broker.stop().catch(() => undefined);
  project.remove();
}
process.exit(exitCode);
