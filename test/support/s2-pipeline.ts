import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { CLI, runCli } from "./cli.js";
import { duckQuery } from "./duckdb.js";
import { sql } from "./postgres.js";
import { type TestBroker, uniqueName } from "./server-process.js";

/**
 * Scenario S2 streaming as a user runs it (test/s2-stream.test.ts): `sluice produce transactions` into a
 * NATS JetStream stream, `sluice stream` through the contract, the `http` step against `sluice classifier`
 * and an upserting `postgres` sink; what landed read back from PostgreSQL and the dead-letter files.
 */

const CATEGORIES =
  "[groceries, dining, travel, transport, fuel, entertainment, utilities, health, shopping, cash, other]";

/** The breaker and retry settings of the `http` step (the outage bound is computed from them). */
export const HTTP = { concurrency: 4, failures: 5, cooldownMs: 2000, maxAttempts: 5 } as const;

export interface S2Project {
  /** The NATS stream (fresh for the test). */
  readonly stream: string;
  readonly subject: string;
  /** `sluice.yaml` of pipeline `tx`. */
  yaml(classifierUrl: string, pgUrl: string): string;
  close(): Promise<void>;
}

/** A fresh JetStream stream `<name>` capturing `<name>.tx` on `broker`. */
export async function s2Stream(broker: TestBroker): Promise<S2Project> {
  const stream = uniqueName("sluice_s2").replace(/\W/g, "_");
  const subject = `${stream}.tx`;
  const nc = await connect({ servers: broker.url.replace("nats://", "") });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [subject] });
  return {
    stream,
    subject,
    yaml: (classifierUrl, pgUrl) => `version: 1
data_dir: ./data
pipelines:
  tx:
    source: { type: nats, url: "${broker.url}", stream: ${stream}, subject: ${subject}, durable: d_${stream}, max_rows: 1000, max_wait_ms: 300 }
    validation: quarantine
    contract:
      extra_columns: keep
      columns:
        transaction_id: { type: string, required: true, pattern: "^txn_[a-z0-9]{20}$" }
        account_id: { type: string, required: true }
        amount: { type: number, required: true, min: 0 }
        mcc: { type: string, required: true, pattern: "^[0-9]{4}$" }
        timestamp: { type: timestamp, required: true }
        category: { type: string, required: true, enum: ${CATEGORIES} }
        confidence: { type: number, required: true, min: 0, max: 1 }
    dedup: { strategy: none }
    retries: { attempts: 2, backoff_seconds: 0.2 }
    transforms:
      - type: http
        name: classify
        url: ${classifierUrl}/classify
        batch_size: 250
        concurrency: ${HTTP.concurrency}
        key: transaction_id
        fields: [transaction_id, merchant, mcc, description, amount]
        timeout_ms: 5000
        retry: { max_attempts: ${HTTP.maxAttempts}, base_ms: 20, max_ms: 300 }
        breaker: { failures: ${HTTP.failures}, cooldown_ms: ${HTTP.cooldownMs} }
        response:
          category: { enum: ${CATEGORIES} }
          confidence: { type: number, min: 0, max: 1 }
    sinks:
      - { type: postgres, url: "${pgUrl}", table: transactions, mode: upsert, key: [transaction_id] }
`,
    close: async () => {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    },
  };
}

/** A `sluice stream tx` worker and the end of its stderr. */
export interface Worker {
  readonly child: ChildProcess;
  stderr(): string;
  exited(): boolean;
  /** Sends `signal` and resolves with the exit code once the process is gone. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

const children = new Set<ChildProcess>();

/** SIGKILLs every worker and producer still running (afterEach). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  children.clear();
}

function track(child: ChildProcess): { text: () => string; gone: Promise<number | null> } {
  children.add(child);
  let text = "";
  child.stderr?.on("data", (d: Buffer) => {
    text = (text + d.toString()).slice(-2_000_000);
  });
  child.stdout?.resume();
  const gone = new Promise<number | null>((done) =>
    child.once("exit", (code, signal) => {
      text += `\n[exited: code ${code}, signal ${signal}]`;
      children.delete(child);
      done(code);
    }),
  );
  return { text: () => text, gone };
}

export function startWorker(dir: string): Worker {
  const child = spawn(process.execPath, [CLI, "stream", "tx"], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { text, gone } = track(child);
  let exited = false;
  void gone.then(() => {
    exited = true;
  });
  return {
    child,
    stderr: text,
    exited: () => exited,
    async stop(signal) {
      if (!exited) child.kill(signal);
      return gone;
    },
  };
}

/** `sluice produce transactions --count N --rate R --seed S --log produced.jsonl` into the project's stream. */
export function startProducer(
  dir: string,
  brokerUrl: string,
  subject: string,
  count: number,
  rate: number,
): { done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "produce",
      "transactions",
      "--to",
      `${brokerUrl}/${subject}`,
      "--count",
      String(count),
      "--rate",
      `${rate}/s`,
      "--seed",
      "12",
      "--log",
      join(dir, "produced.jsonl"),
    ],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  const { text, gone } = track(child);
  return { done: gone.then((code) => ({ code, stderr: text() })) };
}

/** The keys the producer logged, in order (one line per message published). */
export function producedKeys(dir: string): string[] {
  return readFileSync(join(dir, "produced.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { key: string }).key);
}

/** How many messages the producer logged so far (0 before its log exists). */
export function producedSoFar(dir: string): number {
  const file = join(dir, "produced.jsonl");
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, "utf8");
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** PostgreSQL's table: rows, distinct keys, rows not marked streaming, the keys. */
export async function pgRows(
  url: string,
  schema: string,
): Promise<{ n: number; ids: number; notStreaming: number; keys: string[] }> {
  const rows = await sql<{ transaction_id: string; _processing_type: string }>(
    url,
    `SELECT transaction_id, _processing_type FROM "${schema}".transactions`,
  ).catch(() => []);
  const keys = rows.map((r) => r.transaction_id);
  return {
    n: rows.length,
    ids: new Set(keys).size,
    notStreaming: rows.filter((r) => r._processing_type !== "streaming").length,
    keys,
  };
}

/** How many rows PostgreSQL holds (0 before the table exists or while the server is down). */
export async function pgCount(url: string, schema: string): Promise<number> {
  const [r] = await sql<{ n: string }>(url, `SELECT count(*) AS n FROM "${schema}".transactions`).catch(() => []);
  return Number(r?.n ?? 0);
}

/**
 * The batches PostgreSQL committed (`_sluice_batches`): each batch id ends `-<first>-<last>` (stream
 * sequences), so a message written under two batch ids shows as overlapping ranges.
 */
export async function pgBatches(url: string, schema: string): Promise<{ first: number; last: number }[]> {
  const rows = await sql<{ batch_id: string }>(
    url,
    `SELECT batch_id FROM "${schema}"._sluice_batches WHERE table_name = 'transactions'`,
  );
  return rows
    .map((r) => {
      const m = /-(\d+)-(\d+)$/.exec(r.batch_id);
      if (!m) throw new Error(`unexpected batch id ${r.batch_id}`);
      return { first: Number(m[1]), last: Number(m[2]) };
    })
    .sort((a, b) => a.first - b.first);
}

/** The plan's dead letters (`deadletter/tx/*.rows.parquet`): keys and how many have a non-empty `_error`. */
export async function deadLetters(dir: string): Promise<{ n: number; withError: number; keys: string[] }> {
  const folder = join(dir, "data", "deadletter", "tx");
  if (!existsSync(folder) || !readdirSync(folder).some((f) => f.endsWith(".rows.parquet"))) {
    return { n: 0, withError: 0, keys: [] };
  }
  const rows = await duckQuery<{ transaction_id: string | null; ok: boolean }>(
    `SELECT transaction_id, coalesce(length(trim(_error)) > 0, false) AS ok FROM read_parquet('${folder}/*.rows.parquet')`,
  );
  return {
    n: rows.length,
    withError: rows.filter((r) => r.ok).length,
    keys: rows.map((r) => r.transaction_id ?? "(null)"),
  };
}

/** `sluice deadletter tx --json`: the total, the file kinds and the stages of the errors. */
export async function listDeadLetters(dir: string): Promise<{ total: number; kinds: string[]; stages: string[] }> {
  const r = await runCli(["deadletter", "tx", "--json"], { cwd: dir });
  if (r.code !== 0) throw new Error(`sluice deadletter: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as {
    total: number;
    files: { kind: string; errors: { stage?: string }[] }[];
  };
  return {
    total: out.total,
    kinds: [...new Set(out.files.map((f) => f.kind))].sort(),
    stages: [...new Set(out.files.flatMap((f) => f.errors.map((e) => e.stage ?? "")))].sort(),
  };
}

/** Waits until `done()` holds (polling every 250 ms); throws with `why()` after `ms`. */
export async function until(what: string, ms: number, done: () => Promise<boolean>, why: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not reached within ${ms / 1000} s\n${why()}`);
}
