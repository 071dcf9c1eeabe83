import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startClassifier } from "../src/classifier/start-classifier.js";
import { projectDir } from "./support/cli.js";
import { testNats } from "./support/nats.js";
import {
  type EmbeddedServer,
  startEmbeddedPostgres,
  type TestPostgres,
  testPostgres,
  testSchema,
} from "./support/postgres.js";
import {
  deadLetters,
  HTTP,
  killChildren,
  listDeadLetters,
  pgBatches,
  pgCount,
  pgRows,
  producedKeys,
  producedSoFar,
  s2Stream,
  startProducer,
  startWorker,
  until,
  type Worker,
} from "./support/s2-pipeline.js";
import { skipMessage, type TestBroker } from "./support/server-process.js";

/**
 * SPEC S2, streaming, end to end through the real CLI: `sluice produce transactions` into NATS JetStream,
 * `sluice stream` through the contract, the `http` step against the reference classifier (`startClassifier`,
 * real HTTP, seeded faults) and an upserting `postgres` sink. Each case checks what S2 promises: every
 * produced transaction is in PostgreSQL once or dead-lettered with its error, never both, never lost:
 * 1. with 20 % failing requests and 5 % malformed answer items while the worker is SIGKILLed 3 times;
 * 2. with the classifier down for a while: the breaker opens (few requests reach it), closes when it
 *    is back, and the lag drains;
 * 3. with PostgreSQL (a private server) stopped mid-stream and started again.
 * SLUICE_LONG=1 (`npm run test:long`) runs case 1 with 50,000 transactions and a 30 s outage in case 2.
 */
const LONG = Boolean(process.env.SLUICE_LONG);
const COUNT = LONG ? 50_000 : 10_000;
const OUTAGE_S = LONG ? 30 : 10;

let broker: TestBroker | undefined;
let pg: TestPostgres;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  broker = await testNats();
  pg = await testPostgres();
});
afterEach(async () => {
  killChildren();
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});
afterAll(async () => {
  await broker?.stop();
  await pg?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A classifier, a PostgreSQL schema, a NATS stream and a project reading them; closed after the test. */
async function setUp(
  pgUrl: string,
  tag: string,
  faults: Parameters<typeof startClassifier>[0],
): Promise<{
  dir: string;
  schema: string;
  subject: string;
  classifier: Awaited<ReturnType<typeof startClassifier>> & { startedAt: number };
  log: string;
}> {
  const b = broker!;
  const schema = await testSchema(pgUrl, tag);
  closers.push(() => schema.drop());
  const project = await s2Stream(b);
  closers.push(() => project.close());
  const log = join(mkdtempSync(join(tmpdir(), "sluice-s2-classifier-")), "requests.jsonl");
  const running = await startClassifier({ ...faults, logFile: log });
  const classifier = { ...running, startedAt: Date.now() };
  closers.push(() => running.close());
  const dir = projectDir(project.yaml(running.url, schema.url), "sluice-s2-");
  return { dir, schema: schema.name, subject: project.subject, classifier, log };
}

/**
 * What every case ends with: PostgreSQL rows + dead letters = produced, by key; no key twice; every dead
 * letter with an error; the committed batches cover stream sequences 1..N once each (a message written
 * under two batch ids would overlap); nothing quarantined.
 */
async function checkLanded(
  dir: string,
  url: string,
  schema: string,
  produced: string[],
): Promise<{ pg: number; dead: number }> {
  const rows = await pgRows(url, schema);
  const dead = await deadLetters(dir);
  expect(rows.n, "no key twice in PostgreSQL").toBe(rows.ids);
  expect(rows.notStreaming).toBe(0);
  expect(rows.n + dead.n, "PostgreSQL rows + dead letters = produced").toBe(produced.length);
  expect(dead.withError, "every dead letter has an error").toBe(dead.n);
  const landed = new Set([...rows.keys, ...dead.keys]);
  expect(landed.size, "a key both in PostgreSQL and dead-lettered").toBe(produced.length);
  expect([...landed].sort()).toEqual([...produced].sort());
  const listed = await listDeadLetters(dir);
  expect(listed).toEqual({ total: dead.n, kinds: dead.n ? ["plan"] : [], stages: dead.n ? ["enrich:classify"] : [] });
  let next = 1;
  for (const b of await pgBatches(url, schema)) {
    expect(b.first, "batches cover the stream once, in order").toBe(next);
    next = b.last + 1;
  }
  expect(next - 1).toBe(produced.length);
  return { pg: rows.n, dead: dead.n };
}

/** The classifier's request log: one line per `POST /classify`. */
function requestLog(file: string): { time: string; status: number; fault: string | null }[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { time: string; status: number; fault: string | null });
}

/** Waits until PostgreSQL + dead letters hold `count` rows, then stops the worker with SIGTERM (exit 0). */
async function drain(
  dir: string,
  url: string,
  schema: string,
  count: number,
  worker: Worker,
  ms: number,
): Promise<void> {
  let seen = "";
  await until(
    `PostgreSQL + dead letters reach ${count}`,
    ms,
    async () => {
      const [n, dead] = [await pgCount(url, schema), (await deadLetters(dir).catch(() => ({ n: 0 }))).n];
      seen = `${n} rows + ${dead} dead letters`;
      return n + dead >= count;
    },
    () => `seen ${seen}; worker stderr:\n${worker.stderr().slice(-6000)}`,
  );
  await sleep(500); // a batch written twice would show now
  expect(await worker.stop("SIGTERM"), worker.stderr().slice(-4000)).toBe(0);
}

describe("S2 streaming: NATS -> contract -> http classify -> postgres", () => {
  it(`${COUNT.toLocaleString("en-US")} transactions, 20 % failing requests, 5 % malformed items, the worker SIGKILLed 3 times`, {
    timeout: LONG ? 600_000 : 240_000,
  }, async (t) => {
    if (!broker) {
      console.warn(skipMessage("nats"));
      return t.skip();
    }
    const started = Date.now();
    const { dir, schema, subject, classifier } = await setUp(pg.url, "s2_kill", {
      errorRate: 0.2,
      malformedRate: 0.05,
      seed: 20_260_115,
    });
    let worker = startWorker(dir);
    const workers = [worker];
    // About 8 s (10 s long) of producing; the kills come while messages still arrive, each once the
    // worker before has committed something.
    const producer = startProducer(dir, broker.url, subject, COUNT, LONG ? 5000 : 1250);
    const kills: { sent: number; pg: number }[] = [];
    for (const share of [0.2, 0.45, 0.7]) {
      const before = kills.at(-1)?.pg ?? 0;
      await until(
        `${share * 100} % produced and the worker committing`,
        120_000,
        async () => producedSoFar(dir) >= share * COUNT && (await pgCount(pg.url, schema)) > before,
        () => worker.stderr().slice(-6000),
      );
      await sleep(Math.random() * 300); // anywhere in a micro-batch: read, enrich, COPY, commit or ack
      kills.push({ sent: producedSoFar(dir), pg: await pgCount(pg.url, schema) });
      await worker.stop("SIGKILL");
      worker = startWorker(dir);
      workers.push(worker);
    }
    const made = await producer.done;
    expect(made.code, made.stderr).toBe(0);
    const produced = producedKeys(dir);
    expect(produced).toHaveLength(COUNT);
    await drain(dir, pg.url, schema, COUNT, worker, LONG ? 400_000 : 150_000);
    const { pg: rows, dead } = await checkLanded(dir, pg.url, schema, produced);
    expect(kills.filter((k) => k.sent < COUNT).length, "kills while producing").toBeGreaterThanOrEqual(2);
    expect(dead).toBeGreaterThan(COUNT * 0.02); // 5 % malformed items, some of them `missing`
    // Workers that started by finishing the batch their killed predecessor left pending.
    const resumed = workers.filter((w) => w.stderr().includes("finishing batch")).length;
    console.log(
      `S2 kill: ${COUNT} produced, ${rows} in PostgreSQL + ${dead} dead-lettered; SIGKILLs at ${kills.map((k) => `${k.pg} rows (${k.sent} sent)`).join(", ")} ` +
        `(${resumed} left a batch pending); ${workers.reduce((n, w) => n + (w.stderr().match(/micro-batch failed/g)?.length ?? 0), 0)} failed micro-batch attempts; ` +
        `${classifier.requests()} classifier requests; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  it(`the classifier down for ${OUTAGE_S} s: the breaker opens, probes once per cooldown, closes; the lag drains`, {
    timeout: LONG ? 400_000 : 180_000,
  }, async (t) => {
    if (!broker) return t.skip();
    const started = Date.now();
    // The outage window counts from the classifier's start: the stream runs a few seconds first.
    const afterS = 5;
    const { dir, schema, subject, classifier, log } = await setUp(pg.url, "s2_outage", {
      malformedRate: 0.05,
      seed: 11,
      outage: { afterS, forS: OUTAGE_S },
    });
    const worker = startWorker(dir);
    // Producing before, during and after the outage.
    const producer = startProducer(dir, broker.url, subject, (afterS + OUTAGE_S + 5) * 300, 300);
    const made = await producer.done;
    expect(made.code, made.stderr).toBe(0);
    const produced = producedKeys(dir);
    await drain(dir, pg.url, schema, produced.length, worker, LONG ? 300_000 : 120_000);
    const drainedAt = Date.now();
    const { pg: rows, dead } = await checkLanded(dir, pg.url, schema, produced);

    const requests = requestLog(log);
    const down = requests.filter((r) => r.fault === "outage").map((r) => Date.parse(r.time));
    const outageEnd = classifier.startedAt + (afterS + OUTAGE_S) * 1000;
    // Requests that reach a dead API: the consecutive failures that open the breaker (plus the others
    // in flight then), then at most one probe per cooldown, whatever the stream's retries of the batch.
    const bound = HTTP.failures + HTTP.concurrency + Math.ceil((OUTAGE_S * 1000) / HTTP.cooldownMs) + 1;
    expect(down.length, "requests during the outage").toBeGreaterThanOrEqual(HTTP.failures);
    expect(down.length, "requests during the outage").toBeLessThanOrEqual(bound);
    // After the burst that opened it (the failures in a row and the requests in flight with them), the
    // requests are single probes at least one cooldown apart.
    const gaps = down.slice(1).map((at, i) => at - down[i]!);
    const apart = (gap: number) => gap >= HTTP.cooldownMs - 100;
    const burst = gaps.some(apart) ? gaps.findIndex(apart) + 1 : down.length;
    expect(burst, "the requests that opened the breaker").toBeLessThanOrEqual(HTTP.failures + HTTP.concurrency);
    expect(gaps.slice(burst - 1), "probes a cooldown apart").toSatisfy((g: number[]) => g.every(apart));
    const probes = down.length - burst;
    expect(worker.stderr()).toMatch(/circuit breaker is open/);
    // A micro-batch the open breaker refused is tried again after one cooldown (the error's
    // retry_after_ms), not after the stream's own backoff doubling to 30 s: it resumes soon after the API.
    const waits = [...worker.stderr().matchAll(/circuit breaker is open[^\n]*trying it again in (\d+) ms/g)].map((m) =>
      Number(m[1]),
    );
    expect(waits.length).toBeGreaterThan(0);
    expect(new Set(waits)).toEqual(new Set([HTTP.cooldownMs]));
    // Closed again: the classifier answers after the outage, and everything produced landed.
    const answeredAfter = requests.filter((r) => r.status === 200 && Date.parse(r.time) >= outageEnd).length;
    expect(answeredAfter).toBeGreaterThan(0);
    console.log(
      `S2 outage: ${produced.length} produced, ${rows} in PostgreSQL + ${dead} dead-lettered; ${OUTAGE_S} s down: ` +
        `${down.length} requests reached it (bound ${bound}: ${HTTP.failures} failures, ${HTTP.concurrency} in flight, ` +
        `one probe per ${HTTP.cooldownMs} ms), ${burst} requests opened the breaker, then ${probes} probes (gaps ${gaps.map((g) => (g / 1000).toFixed(1)).join(", ")} s); ${answeredAfter} answered after; ` +
        `drained ${((drainedAt - outageEnd) / 1000).toFixed(1)} s after the outage; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  it("PostgreSQL stopped mid-stream and started again: the stream retries, nothing lost or doubled", {
    timeout: 240_000,
  }, async (t) => {
    if (!broker) return t.skip();
    const started = Date.now();
    const server: EmbeddedServer = await startEmbeddedPostgres();
    closers.push(() => server.destroy());
    const { dir, schema, subject, log } = await setUp(server.url, "s2_pgdown", {
      errorRate: 0.2,
      malformedRate: 0.05,
      seed: 5,
    });
    const worker = startWorker(dir);
    const count = LONG ? 20_000 : 6000;
    const producer = startProducer(dir, broker.url, subject, count, 500);
    await until(
      "a quarter in PostgreSQL",
      120_000,
      async () => (await pgCount(server.url, schema)) >= count / 4,
      () => worker.stderr().slice(-6000),
    );
    const stoppedAt = await pgCount(server.url, schema);
    await server.stop();
    const downFrom = Date.now();
    await sleep(5000);
    expect(worker.exited(), worker.stderr().slice(-4000)).toBe(false);
    await server.start();
    const downS = (Date.now() - downFrom) / 1000;
    const made = await producer.done;
    expect(made.code, made.stderr).toBe(0);
    const produced = producedKeys(dir);
    await drain(dir, server.url, schema, count, worker, 150_000);
    const { pg: rows, dead } = await checkLanded(dir, server.url, schema, produced);
    const failed = worker.stderr().match(/micro-batch failed/g)?.length ?? 0;
    expect(failed, "the stream noticed").toBeGreaterThan(0);
    // The batch's enrichment is fixed before the sink runs: its retries while PostgreSQL was down asked
    // the classifier nothing (one answered request per 250 records of each batch), unless the http step
    // itself failed a batch (the breaker opening on the injected errors).
    const answered = requestLog(log).filter((r) => r.status === 200).length;
    const needed = (await pgBatches(server.url, schema)).reduce(
      (n, b) => n + Math.ceil((b.last - b.first + 1) / 250),
      0,
    );
    if (!/enrich:classify: /.test(worker.stderr())) expect(answered).toBe(needed);
    console.log(
      `S2 postgres down: ${count} produced, ${rows} in PostgreSQL + ${dead} dead-lettered; stopped at ${stoppedAt} rows ` +
        `for ${downS.toFixed(1)} s, ${failed} failed micro-batch attempts; ${answered} answered requests (${needed} needed); ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
