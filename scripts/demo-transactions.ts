// `npm run demo:transactions`: scenario S2 end to end on this machine's services (examples/transactions).
// PostgreSQL: $DATABASE_URL, else 127.0.0.1:5432 when it answers, else an embedded server. NATS: $NATS_URL,
// else 127.0.0.1:4222 with JetStream, else a private nats-server (the machine's binary). The classifier runs
// in this process on port 8900 (or a free one) with 10 % failing requests and 3 % malformed items.
// Batch side: three CSV files (one with malformed rows) -> `sluice run`; a fourth file -> `sluice run` again.
// Stream side: `sluice stream` while two producers publish on payments.tx. Then it prints where everything
// landed, and the commands to look further.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startClassifier } from "../src/classifier/start-classifier.js";
import { natsAnswers, withPrivateNats } from "../test/support/nats.js";
import { pgAnswers, sql as query, startEmbeddedPostgres } from "../test/support/postgres.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli", "main.js");
/** The example's folder; SLUICE_DEMO_DIR names a copy of it (the tests run the demo in a temporary folder). */
const example = process.env.SLUICE_DEMO_DIR ?? join(root, "examples", "transactions");
const config = join(example, "sluice.yaml");
const data = join(example, "data");
const landing = join(example, "landing");
const say = (text: string) => process.stdout.write(`${text}\n`);

/** Runs the CLI without blocking this process (the classifier answers from it). */
function sluice(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  say(`\n$ sluice ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args, "-c", config], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      process.stdout.write(d);
    });
    child.once("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`sluice ${args[0]} exited with ${code}`)),
    );
  });
}

/** The JetStream streams of the demo: the producers', the predictions' and the dead letters'. */
const STREAMS = ["payments_tx", "payments_predictions", "payments_deadletter"];

/**
 * Drops what an earlier demo left: this example's data folder and landing files, its NATS streams, and
 * its PostgreSQL schema when it holds only what sluice wrote.
 */
async function reset(url: string, natsUrl: string): Promise<void> {
  rmSync(data, { recursive: true, force: true });
  const nc = await connect({ servers: natsUrl.replace(/^nats:\/\//, "") });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of STREAMS) await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
  rmSync(landing, { recursive: true, force: true });
  mkdirSync(landing, { recursive: true });
  const tables = await query<{ t: string }>(url, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'payments'");
  const ours = new Set(["transactions", "_sluice_batches", "_sluice_rejected"]);
  if (tables.length > 0 && tables.every((r) => ours.has(r.t))) await query(url, "DROP SCHEMA payments CASCADE");
  else if (tables.length > 0)
    throw new Error("schema payments holds tables sluice did not write; set DATABASE_URL to another database");
}

/** One CSV file of generated transactions in landing/ (3 % failing the contract). */
function landFile(name: string, seed: number, rows: number): void {
  spawnSync(
    process.execPath,
    [
      cli,
      "generate",
      "transactions",
      "--rows",
      String(rows),
      "--seed",
      String(seed),
      "--anchor",
      "2026-11-01",
      "--chaos",
      "invalid_rate=0.03",
      "--out",
      join(landing, name),
    ],
    { stdio: "ignore" },
  );
}

async function main(): Promise<void> {
  const embedded =
    process.env.DATABASE_URL || (await pgAnswers("postgres://postgres@127.0.0.1:5432/test"))
      ? undefined
      : await startEmbeddedPostgres();
  const dbUrl = process.env.DATABASE_URL ?? embedded?.url ?? "postgres://postgres@127.0.0.1:5432/test";
  const shared = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const nats = (await natsAnswers(shared, true)) ? undefined : await withPrivateNats();
  const natsUrl = nats?.url ?? shared;
  const api = await startClassifier({ port: 8900, errorRate: 0.1, malformedRate: 0.03, seed: 42 }).catch(() =>
    startClassifier({ errorRate: 0.1, malformedRate: 0.03, seed: 42 }),
  );
  const env = { DATABASE_URL: dbUrl, NATS_URL: natsUrl, CLASSIFIER_URL: api.url };
  say(`PostgreSQL: ${embedded ? `embedded on port ${embedded.port}` : "127.0.0.1:5432"}; NATS: ${natsUrl}`);
  say(`classifier: ${api.url} (10 % of requests fail, 3 % of items malformed)`);
  try {
    await reset(dbUrl, natsUrl);
    say(`\n== batch side: three CSV files in ${relative(root, landing)}/, one with malformed rows`);
    for (const [i, name] of ["tx-001.csv", "tx-002.csv", "tx-003.csv"].entries()) landFile(name, i + 1, 2000);
    appendFileSync(join(landing, "tx-002.csv"), 'txn_broken_row_without_fields,acct_0000001\n"unterminated,quote\n');
    await sluice(["run", "transactions_batch"], env);
    say("\n== a fourth file arrives; the next run reads only it");
    landFile("tx-004.csv", 4, 1000);
    await sluice(["run", "transactions_batch"], env);
    say("\n== stream side: two producers publish on payments.tx while `sluice stream` classifies");
    const produced = await streamSide(env, natsUrl);
    await summary(dbUrl, natsUrl, produced);
  } finally {
    await api.close();
    await nats?.stop();
    await embedded?.destroy();
  }
}

/** Runs the stream while two producers publish; returns how many messages they published. */
async function streamSide(env: NodeJS.ProcessEnv, natsUrl: string): Promise<number> {
  const worker = spawn(process.execPath, [cli, "stream", "transactions_stream", "-c", config], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const produce = (seed: number, rate: string, extra: string[]) =>
    new Promise<number>((resolve, reject) => {
      const p: ChildProcess = spawn(
        process.execPath,
        [
          cli,
          "produce",
          "transactions",
          "--to",
          `${natsUrl}/payments.tx`,
          "--rate",
          rate,
          "--duration",
          "10",
          "--seed",
          String(seed),
          "--json",
          ...extra,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      p.stdout?.on("data", (d: Buffer) => {
        out += d;
      });
      p.once("close", (code) =>
        code === 0
          ? resolve((JSON.parse(out) as { published: number }).published)
          : reject(new Error(`producer exited with ${code}`)),
      );
    });
  say("producers: 600 msgs/s and 300 msgs/s (5 % re-sends) for 10 s");
  const counts = await Promise.all([produce(11, "600/s", []), produce(12, "300/s", ["--dup-rate", "0.05"])]);
  await drained(env, natsUrl);
  worker.kill("SIGTERM");
  await new Promise((resolve) => worker.once("close", resolve));
  return counts[0]! + counts[1]!;
}

/** Waits until the stream committed the last message on payments.tx (at most 120 s). */
async function drained(env: NodeJS.ProcessEnv, natsUrl: string): Promise<void> {
  const nc = await connect({ servers: natsUrl.replace(/^nats:\/\//, "") });
  const last = (await (await jetstreamManager(nc)).streams.info("payments_tx")).state.last_seq;
  await nc.close();
  for (let i = 0; i < 240; i++) {
    const out = await quietly(["runs", "transactions_stream", "--json"], env);
    const runs = out ? (JSON.parse(out) as { state?: { position?: string } }[]) : [];
    if (Number(runs.at(-1)?.state?.position ?? 0) >= last) return;
    await sleep(500);
  }
  say("the stream did not catch up within 120 s; stopping it");
}

/** The CLI's stdout, or undefined when it fails. */
function quietly(args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args, "-c", config], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.once("close", (code) => resolve(code === 0 ? out : undefined));
  });
}

interface RecordRows {
  rows: { extracted: number; quarantined: number; dead_lettered: number; duplicates_dropped: number };
  outputs: { sink: string; rows: number; status: string }[];
}

/** Totals over every run of a pipeline: what was read, and where each record went. */
async function totals(pipeline: string): Promise<Record<string, number>> {
  const runs = JSON.parse((await quietly(["runs", pipeline, "--json"], {})) ?? "[]") as RecordRows[];
  const sum = (f: (r: RecordRows) => number) => runs.reduce((n, r) => n + f(r), 0);
  return {
    read: sum((r) => r.rows.extracted),
    postgres: sum((r) => r.outputs.find((o) => o.sink.startsWith("postgres:"))?.rows ?? 0),
    predictions: sum((r) => r.outputs.find((o) => o.sink.startsWith("nats:"))?.rows ?? 0),
    quarantined: sum((r) => r.rows.quarantined),
    dead_lettered: sum((r) => r.rows.dead_lettered),
    duplicates_dropped: sum((r) => r.rows.duplicates_dropped),
  };
}

async function streamMessages(natsUrl: string, stream: string): Promise<number> {
  const nc = await connect({ servers: natsUrl.replace(/^nats:\/\//, "") });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

async function summary(dbUrl: string, natsUrl: string, produced: number): Promise<void> {
  const [t] = await query<{ n: string; keys: string }>(
    dbUrl,
    "SELECT count(*) AS n, count(DISTINCT transaction_id) AS keys FROM payments.transactions",
  );
  const top = await query<{ category: string; n: string }>(
    dbUrl,
    "SELECT category, count(*) AS n FROM payments.transactions GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
  );
  for (const p of ["transactions_batch", "transactions_stream"]) await sluice(["deadletter", p, "--rows", "3"], {});
  await sluice(["quarantine", "transactions_batch", "--limit", "5"], {});
  const batch = await totals("transactions_batch");
  const stream = await totals("transactions_stream");
  const n = (v: number | string | undefined) => Number(v ?? 0).toLocaleString("en-US");
  const line = (name: string, x: Record<string, number>) =>
    `${name}: ${n(x.read)} read = ${n(x.postgres)} in PostgreSQL + ${n(x.quarantined)} quarantined + ` +
    `${n(x.dead_lettered)} dead-lettered + ${n(x.duplicates_dropped)} duplicates dropped`;
  const shown = relative(root, config);
  say(`\n== where it landed
${line("batch side (4 CSV files)", batch)}
${line(`stream side (${n(produced)} messages published on payments.tx)`, stream)}
PostgreSQL payments.transactions: ${n(t?.n)} rows, ${n(t?.keys)} distinct transaction ids; top categories: ${top
    .map((r) => `${r.category} ${n(r.n)}`)
    .join(", ")}
NATS payments.predictions: ${n(await streamMessages(natsUrl, "payments_predictions"))} messages (one per row written)
NATS payments.deadletter: ${n(await streamMessages(natsUrl, "payments_deadletter"))} messages (the error in the Sluice-Error header)

Look further (from the repository root):
  npx sluice runs -c ${shown}                              # every run and micro-batch
  npx sluice deadletter transactions_stream -c ${shown}    # dead letters with their errors
  npx sluice quarantine transactions_batch -c ${shown}     # bad CSV rows with file and line
  npx sluice replay transactions_stream --deadletter -c ${shown}  # send them through again
  psql ${dbUrl.replace(/:[^:@/]*@/, ":***@")} -c "SELECT category, count(*) FROM payments.transactions GROUP BY 1"`);
  if (process.argv.includes("--json")) {
    process.stdout.write(
      `${JSON.stringify({ produced, batch, stream, postgres: { rows: Number(t?.n), keys: Number(t?.keys) } })}\n`,
    );
  }
}

await main();
