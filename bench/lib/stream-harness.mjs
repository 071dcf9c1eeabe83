// Shared by the streaming cases that run a live worker against producers (stream-latency, stream-burst)
// and by scripts/stream-soak.mjs: private brokers, a temp project, the `sluice stream` worker as a child
// process (its log lines, its micro-batch records, its RSS), producers, machine load, percentiles.
//
// Brokers: a private nats-server (-js, own store dir) / redis-server (in memory) on a free port, started
// from the machine's binaries (PATH, /usr/sbin, /usr/bin) and stopped afterwards, so the figures do not
// depend on what other processes do with the machine's shared brokers. SLUICE_BENCH_BROKER=machine uses the
// machine's brokers instead (SLUICE_BENCH_NATS_URL / SLUICE_BENCH_REDIS_URL, default 127.0.0.1:4222 / 6379);
// without a binary the machine's broker is used.
import { spawn } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { stringify } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, "..", "..");
export const CLI = join(ROOT, "dist", "cli", "main.js");
export const TIMED_PRODUCER = join(here, "timed-produce.mjs");

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const round = (x, d = 3) => (typeof x === "number" && Number.isFinite(x) ? Number(x.toFixed(d)) : x);
export const logger = (tag) => (msg) => process.stderr.write(`  ${tag}: ${msg}\n`);
export const uniqueSuffix = () => `${process.pid}_${Date.now().toString(36)}`;

/** Number `name` of the environment, or `fallback`. */
export function envNumber(name, fallback) {
  const v = process.env[name];
  const n = v === undefined || v === "" ? Number.NaN : Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/** Comma list `name` of the environment (lower case), or `fallback`. */
export function envList(name, fallback) {
  const v = process.env[name];
  return v
    ? v
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean)
    : fallback;
}

// ---------------------------------------------------------------- brokers

function findBinary(name) {
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/bin",
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function natsAnswers(url) {
  let nc;
  try {
    nc = await connect({ servers: url.replace(/^nats:\/\//, ""), timeout: 1000, reconnect: false });
    await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
    return true;
  } catch {
    return false;
  } finally {
    await nc?.close().catch(() => undefined);
  }
}

async function redisAnswers(url) {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    enableOfflineQueue: false,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

const live = new Set();
let hooked = false;
/** Children (servers, workers, producers) this process started die with it, whatever ends it. */
function track(child) {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
      process.once(sig, () => {
        for (const c of live) c.kill("SIGKILL");
        process.exit(130);
      });
    }
  }
  return child;
}

/**
 * A broker for one case: `{ kind, url, private, pid, stop() }`. Private (see the file's head) unless
 * SLUICE_BENCH_BROKER=machine or the binary is missing.
 */
export async function startBroker(kind) {
  const machineUrl =
    kind === "nats"
      ? (process.env.SLUICE_BENCH_NATS_URL ?? "nats://127.0.0.1:4222")
      : (process.env.SLUICE_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379");
  const answers = kind === "nats" ? natsAnswers : redisAnswers;
  const bin = findBinary(kind === "nats" ? "nats-server" : "redis-server");
  if (process.env.SLUICE_BENCH_BROKER === "machine" || !bin) {
    if (!(await answers(machineUrl))) {
      throw new Error(
        `${kind}: no ${kind === "nats" ? "nats-server" : "redis-server"} binary to start a private one, and nothing answers at ${machineUrl}`,
      );
    }
    return { kind, url: machineUrl, private: false, pid: undefined, stop: async () => undefined };
  }
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), `sluice-bench-${kind}-`));
  const url = `${kind}://127.0.0.1:${port}`;
  const args =
    kind === "nats"
      ? ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", join(root, "store")]
      : ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", root];
  const child = track(spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] }));
  let err = "";
  child.stderr.on("data", (d) => {
    err = (err + d).slice(-4000);
  });
  const deadline = Date.now() + 15_000;
  while (!(await answers(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      rmSync(root, { recursive: true, force: true });
      throw new Error(`private ${bin} on port ${port} did not answer:\n${err}`);
    }
    await sleep(100);
  }
  return {
    kind,
    url,
    private: true,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await gone;
        clearTimeout(t);
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Broker version, for the report. */
export async function brokerVersion(broker) {
  try {
    if (broker.kind === "redis") {
      const c = new Redis(broker.url, { maxRetriesPerRequest: 1 });
      const info = await c.info("server");
      c.disconnect();
      return `redis ${/redis_version:(\S+)/.exec(info)?.[1]}`;
    }
    const nc = await connect({ servers: broker.url.replace(/^nats:\/\//, "") });
    const v = nc.info?.version;
    await nc.close();
    return `nats-server ${v}`;
  } catch {
    return undefined;
  }
}

/**
 * A fresh stream on `broker` named after `name`: `{ produceUrl, source (config), positions(n), lastPosition(),
 * order(a, b), trim(committed), close() }`. NATS: a JetStream stream (file storage) capturing one subject,
 * created here so the worker can start before the first message. Redis: a stream key (the worker's group
 * creates it).
 */
export async function openStream(broker, name, micro) {
  if (broker.kind === "nats") {
    const nc = await connect({ servers: broker.url.replace(/^nats:\/\//, ""), name: "sluice-bench" });
    const jsm = await jetstreamManager(nc);
    const subject = `${name}.events`;
    const stream = name.replace(/\W/g, "_");
    await jsm.streams.add({ name: stream, subjects: [subject] });
    return {
      produceUrl: `${broker.url}/${subject}`,
      source: { type: "nats", url: broker.url, stream, durable: "bench", ...micro },
      order: (a, b) => Number(a) - Number(b),
      /** Positions of the first `n` messages (a fresh stream, one producer without duplicates: 1..n). */
      async positions(n) {
        const info = await jsm.streams.info(stream);
        if (info.state.last_seq !== n)
          throw new Error(`stream ${stream}: last seq ${info.state.last_seq}, producer published ${n}`);
        return Array.from({ length: n }, (_, i) => String(i + 1));
      },
      async lastPosition() {
        const info = await jsm.streams.info(stream);
        return info.state.last_seq > 0 ? String(info.state.last_seq) : undefined;
      },
      /** Deletes the messages before the committed position (housekeeping of long runs). */
      async trim(committed) {
        const seq = Number(committed);
        if (seq > 1) await jsm.streams.purge(stream, { seq });
      },
      async close() {
        await jsm.streams.delete(stream).catch(() => undefined);
        await nc.close().catch(() => undefined);
      },
    };
  }
  const client = new Redis(broker.url, { maxRetriesPerRequest: 2 });
  client.on("error", () => undefined);
  const key = name;
  const parse = (id) => id.split("-").map(BigInt);
  return {
    produceUrl: `${broker.url}/${key}`,
    source: { type: "redis_stream", url: broker.url, stream: key, group: "bench", ...micro },
    order(a, b) {
      const [am, as] = parse(a);
      const [bm, bs] = parse(b);
      return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
    },
    /** The ids of the stream's first `n` entries, in order (XRANGE pages). */
    async positions(n) {
      const out = [];
      let from = "-";
      while (out.length < n) {
        const page = await client.xrange(key, from, "+", "COUNT", 10_000);
        if (page.length === 0) break;
        for (const [id] of page) out.push(id);
        from = `(${page.at(-1)[0]}`;
      }
      if (out.length !== n) throw new Error(`stream ${key}: ${out.length} entries, producer published ${n}`);
      return out;
    },
    async lastPosition() {
      const [last] = await client.xrevrange(key, "+", "-", "COUNT", 1);
      return last?.[0];
    },
    async trim(committed) {
      await client.xtrim(key, "MINID", committed);
    },
    async close() {
      await client.del(key).catch(() => undefined);
      client.disconnect();
    },
  };
}

// ---------------------------------------------------------------- the project and the worker

/**
 * A temp project: behavioral_events (what `sluice produce behavioral_events` sends) -> a small contract
 * (quarantine) -> merge on id -> a partitioned Delta table and a DuckDB table with an index on id, the
 * shape of examples/streaming-*. SLUICE_BENCH_STREAM_SINKS=delta drops the DuckDB table.
 */
/**
 * The stream benches' pipeline: the stream source, a small contract (quarantine), merge on id, `sinks`
 * (default one partitioned Delta table).
 */
export function benchPipeline(source, sinks = [DELTA_SINK]) {
  return {
    source,
    validation: "quarantine",
    contract: {
      extra_columns: "keep",
      columns: {
        id: { type: "string", required: true },
        userId: { type: "string", required: true },
        eventType: { type: "string", required: true },
        timestamp: { type: "timestamp", required: true },
        durationMs: { type: "integer" },
        completed: { type: "boolean" },
        updatedAt: { type: "timestamp", required: true },
      },
    },
    dedup: { strategy: "merge", key: ["id"], order_by: "updatedAt" },
    sinks,
  };
}

const DELTA_SINK = {
  type: "parquet",
  path: "lake/events",
  layout: "partitioned",
  format: "delta",
  time_column: "timestamp",
};

export function makeProject(source) {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-live-"));
  const sinks = [DELTA_SINK];
  if (envList("SLUICE_BENCH_STREAM_SINKS", ["delta", "duckdb"]).includes("duckdb")) {
    sinks.push({ type: "duckdb", schema: "bench", table: "events", mode: "table", indexes: [["id"]] });
  }
  const yaml = stringify({
    version: 1,
    data_dir: "./data",
    warehouse: "./data/warehouse.duckdb",
    pipelines: { events: benchPipeline(source, sinks) },
  });
  writeFileSync(join(dir, "sluice.yaml"), yaml);
  return {
    dir,
    sinks: sinks.map((s) => (s.type === "duckdb" ? "duckdb" : "delta")),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * `sluice stream events --json` in `dir`. Keeps the worker's log lines ({at, msg}), the commit time of each
 * micro-batch (its "micro-batch ID: succeeded" line, written once the ledger record and the state commit
 * are done, before the ack) and the stop summary.
 */
export class Worker {
  constructor(dir) {
    this.dir = dir;
    this.lines = [];
    this.commits = new Map();
    this.compactions = [];
    this.stdout = "";
    this.stderrTail = "";
    this.child = track(
      spawn(process.execPath, [CLI, "stream", "events", "--json"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] }),
    );
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => this.child.once("close", (code, signal) => resolve({ code, signal })));
    this.exit = undefined;
    void this.exited.then((e) => {
      this.exit = e;
    });
    this.child.stdout.on("data", (d) => {
      this.stdout += d;
    });
    let partial = "";
    this.child.stderr.on("data", (d) => {
      this.stderrTail = (this.stderrTail + d).slice(-8000);
      const parts = (partial + d).split("\n");
      partial = parts.pop();
      for (const line of parts) this.onLine(line);
    });
  }

  onLine(line) {
    let j;
    try {
      j = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof j.msg !== "string" || !j.time) return;
    const at = Date.parse(j.time);
    const m = /^micro-batch (\S+): succeeded/.exec(j.msg);
    if (m) {
      this.commits.set(m[1], at);
      this.lastCommitAt = at;
    } else if (j.msg.startsWith("compacted ")) {
      // The stream compacts its Delta tables between micro-batches: how long after the last commit.
      this.compactions.push({
        at,
        ms: this.lastCommitAt === undefined ? undefined : at - this.lastCommitAt,
        msg: j.msg,
      });
    } else if (j.msg.startsWith("streaming ")) this.readyAt = at;
    if (j.level !== "info" || !/^(extracted|written) /.test(j.msg)) this.lines.push({ at, level: j.level, msg: j.msg });
  }

  /** Waits for the "streaming ... after position" line (consumer open). */
  async ready(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.readyAt === undefined) {
      this.assertAlive();
      if (Date.now() > deadline)
        throw new Error(`sluice stream not streaming after ${timeoutMs} ms:\n${this.stderrTail}`);
      await sleep(50);
    }
  }

  assertAlive() {
    if (this.exit) throw new Error(`sluice stream exited early (${JSON.stringify(this.exit)}):\n${this.stderrTail}`);
  }

  /** The state file: `{ position, pending? }` or undefined. */
  state() {
    try {
      return JSON.parse(readFileSync(join(this.dir, "data", "state", "events.json"), "utf8"));
    } catch {
      return undefined;
    }
  }

  /**
   * Waits until the committed position is `position` with no pending batch (the state file; every second
   * also a committed record ending there, should the state live elsewhere); false at the timeout.
   */
  async caughtUp(position, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; Date.now() < deadline; i++) {
      this.assertAlive();
      const s = this.state();
      if (s && s.pending === undefined && String(s.position) === String(position)) return true;
      if (i % 20 === 19 && this.committedPosition() === String(position)) return true;
      await sleep(50);
    }
    return false;
  }

  /** The position of the newest micro-batch whose commit line was seen. */
  committedPosition() {
    const done = this.records().filter((r) => this.commits.has(r.batch_id) && r.state?.position !== undefined);
    return done.length ? String(done.at(-1).state.position) : undefined;
  }

  /** SIGTERM (the micro-batch in flight finishes), the stop summary. */
  async stop() {
    if (!this.exit) this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 120_000);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`sluice stream exited ${code ?? signal} after SIGTERM:\n${this.stderrTail}`);
    return JSON.parse(this.stdout);
  }

  /** The micro-batch records (data/runs/events/*.json), by start time; `succeeded` only unless `all`. */
  records(all = false) {
    const runs = join(this.dir, "data", "runs", "events");
    return (existsSync(runs) ? readdirSync(runs) : [])
      .filter((f) => f.endsWith(".json"))
      .map((f) => {
        try {
          return JSON.parse(readFileSync(join(runs, f), "utf8"));
        } catch {
          return undefined; // being written
        }
      })
      .filter((r) => r && (all || r.status === "succeeded"))
      .sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  }

  /** Lines at level warn or above (retries, failures). */
  problems() {
    return this.lines.filter((l) => l.level !== "info");
  }
}

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
      stderr = (stderr + d).slice(-4000);
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`sluice ${args.join(" ")} exited ${code}:\n${stderr}`)),
    );
  });
}

/** Rows and distinct ids in the project's Delta table (and the DuckDB table when there is one). */
export async function lakeCounts(project) {
  const q = "SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS ids FROM l";
  const [delta] = JSON.parse(await cli(["query", "--delta", "l=data/lake/events", q, "--format", "json"], project.dir));
  const out = { delta_rows: Number(delta.n), delta_ids: Number(delta.ids) };
  if (project.sinks.includes("duckdb")) {
    const [wh] = JSON.parse(
      await cli(
        [
          "query",
          "SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS ids FROM bench.events",
          "--format",
          "json",
        ],
        project.dir,
      ),
    );
    out.duckdb_rows = Number(wh.n);
    out.duckdb_ids = Number(wh.ids);
  }
  return out;
}

// ---------------------------------------------------------------- producers

/**
 * `sluice produce behavioral_events --to URL --rate R/s [--duration S] --json` as a child process;
 * `done` resolves with its JSON summary (plus `started_ms` / `ended_ms`).
 */
export function produce({ url, rate, durationS, count, seed }) {
  const args = ["produce", "behavioral_events", "--to", url, "--rate", `${rate}/s`, "--json"];
  if (durationS !== undefined) args.push("--duration", String(durationS));
  if (count !== undefined) args.push("--count", String(count));
  if (seed !== undefined) args.push("--seed", String(seed));
  return childJson(process.execPath, [CLI, ...args], "sluice produce");
}

/**
 * bench/lib/timed-produce.mjs: `sluice produce`'s own loop (runProducer, RecordPool, the broker publisher
 * from dist/) with each publish batch's send time and ack time written to `logFile`.
 */
export function timedProduce({ url, rate, durationS, logFile, seed }) {
  const args = [TIMED_PRODUCER, url, String(rate), String(durationS), logFile];
  if (seed !== undefined) args.push(String(seed));
  return childJson(process.execPath, args, "timed producer");
}

function childJson(bin, args, what) {
  const started_ms = Date.now();
  const child = track(spawn(bin, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const done = new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${what} exited ${code}:\n${stderr}`));
      try {
        resolve({ ...JSON.parse(stdout.trim().split("\n").at(-1)), started_ms, ended_ms: Date.now() });
      } catch {
        reject(new Error(`${what}: no JSON summary on stdout:\n${stdout}\n${stderr}`));
      }
    });
  });
  return { pid: child.pid, done, stop: () => child.kill("SIGTERM") };
}

/** The timed producer's log: one `{first, n, sent, acked}` per publish batch (seq 1-based, ms since epoch). */
export function readTimedLog(file) {
  const out = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const [first, n, sent, acked] = line.split(" ").map(Number);
    if (Number.isFinite(acked)) out.push({ first, n, sent, acked }); // (a line being written is skipped)
  }
  return out;
}

// ---------------------------------------------------------------- memory, machine

/** VmRSS and VmHWM of a live process, MB (Linux); undefined when it is gone. */
export function memoryMb(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1]);
    return { rss: round(kb("VmRSS") / 1024, 1), hwm: round(kb("VmHWM") / 1024, 1) };
  } catch {
    return undefined;
  }
}

function cpuTicks(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
  } catch {
    return undefined;
  }
}

function machineTicks() {
  const [, ...v] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const n = v.map(Number);
  const idle = n[3] + (n[4] ?? 0);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * What the machine did while a measurement ran: cores, load averages (sampled), the share of all cores
 * busy, and how much of it was the measured processes (`pids()`: worker, producers, broker) versus others.
 */
export class MachineMonitor {
  constructor(pids) {
    this.pids = pids;
    this.start = machineTicks();
    this.ownStart = new Map();
    this.loads = [];
    this.sample();
  }

  sample() {
    for (const pid of this.pids()) {
      if (pid !== undefined && !this.ownStart.has(pid)) this.ownStart.set(pid, cpuTicks(pid) ?? 0);
    }
    for (const pid of this.ownStart.keys()) {
      const t = cpuTicks(pid);
      if (t !== undefined) this.ownLast = { ...(this.ownLast ?? {}), [pid]: t };
    }
    this.loads.push(Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]));
  }

  summary() {
    this.sample();
    const end = machineTicks();
    const total = end.total - this.start.total;
    const busy = end.busy - this.start.busy;
    let own = 0;
    for (const [pid, t0] of this.ownStart) own += (this.ownLast?.[pid] ?? t0) - t0;
    const loads = this.loads;
    return {
      cores: cpus().length,
      load_1m: {
        min: Math.min(...loads),
        mean: round(loads.reduce((a, b) => a + b, 0) / loads.length, 2),
        max: Math.max(...loads),
      },
      cpu_busy_pct_of_all_cores: round((100 * busy) / total, 1),
      cpu_measured_processes_pct: round((100 * Math.min(own, busy)) / total, 1),
      cpu_other_processes_pct: round((100 * Math.max(0, busy - own)) / total, 1),
    };
  }
}

// ---------------------------------------------------------------- statistics

/** Nearest-rank percentiles of a numeric array: { p50, p95, p99, max, mean, n }. */
export function percentiles(values, ps = [50, 95, 99]) {
  if (values.length === 0) return { n: 0 };
  const a = Float64Array.from(values).sort();
  const out = { n: a.length };
  for (const p of ps) out[`p${p}`] = a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))];
  out.max = a[a.length - 1];
  out.min = a[0];
  let s = 0;
  for (const x of a) s += x;
  out.mean = round(s / a.length, 1);
  return out;
}

/** Median of numbers. */
export function median(values) {
  const a = [...values].sort((x, y) => x - y);
  if (a.length === 0) return undefined;
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
}

/** A record's lag, flattened: { at (ms, the batch's start), messages, seconds, rows }. */
export function lagPoint(r) {
  return {
    at: Date.parse(r.started_at),
    finished: Date.parse(r.finished_at),
    rows: r.rows?.extracted ?? 0,
    messages: r.lag?.messages,
    seconds: r.lag?.seconds === undefined ? undefined : round(r.lag.seconds, 3),
  };
}
