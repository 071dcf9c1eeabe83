import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { type TestPostgres, type TestSchema, testPostgres, testSchema } from "./support/postgres.js";

/**
 * The `http` enrich step (SPEC S2, sections 6 and 9) against a real HTTP server in the test: answers
 * joined by key, malformed items and unanswered records dead-lettered with their error, 5xx and 429
 * retried (Retry-After honoured), the breaker stopping the requests to a dead API, and a batch's
 * enrichment fixed once: a retried or rerun pending batch does not call the API again.
 */

/**
 * How the test API answers: `down` 503s everything (for `downFor` ms after its first request, when
 * set); `fail` lists request numbers (1-based) that get a 500, `retryAfter` those that get a 429.
 */
interface ApiBehaviour {
  down: boolean;
  downFor?: number;
  fail: Set<number>;
  retryAfter: Set<number>;
}

class TestApi {
  readonly behaviour: ApiBehaviour = { down: false, fail: new Set(), retryAfter: new Set() };
  /** Every request: its arrival (ms) and status. */
  readonly log: { at: number; status: number }[] = [];
  private server!: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        const n = this.log.length + 1;
        const answer = (status: number, text: string, headers: Record<string, string> = {}) => {
          this.log.push({ at: Date.now(), status });
          res.writeHead(status, { "content-type": "application/json", ...headers });
          res.end(text);
        };
        if (this.behaviour.down && this.behaviour.downFor !== undefined && this.log.length === 0) {
          setTimeout(() => {
            this.behaviour.down = false;
          }, this.behaviour.downFor);
        }
        if (this.behaviour.down) return answer(503, "down");
        if (this.behaviour.fail.has(n)) return answer(500, "boom");
        if (this.behaviour.retryAfter.has(n)) return answer(429, "slow down", { "retry-after": "1" });
        const records = JSON.parse(body) as { transaction_id: string; mcc: string }[];
        answer(200, JSON.stringify(records.flatMap((r) => classify(r))));
      });
    });
    await new Promise<void>((ok) => this.server.listen(0, "127.0.0.1", ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/classify`;
  }

  reset(): void {
    this.log.length = 0;
    Object.assign(this.behaviour, { down: false, downFor: undefined, fail: new Set(), retryAfter: new Set() });
  }

  stop(): Promise<void> {
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

/** A stable draw in [0, 1) per record. */
function draw(id: string): number {
  return createHash("sha256").update(id).digest().readUInt32BE(0) / 2 ** 32;
}

/** About 5 % malformed: an unknown category, a confidence above 1, a missing item, or one without the key. */
function classify(r: { transaction_id: string; mcc: string }): unknown[] {
  const category = r.mcc === "5411" ? "groceries" : "other";
  const d = draw(r.transaction_id);
  if (d < 0.0125) return [{ transaction_id: r.transaction_id, category: "??", confidence: 0.5 }];
  if (d < 0.025) return [{ transaction_id: r.transaction_id, category, confidence: 1.7 }];
  if (d < 0.0375) return [];
  if (d < 0.05) return [{ category, confidence: 0.5 }];
  return [{ transaction_id: r.transaction_id, category, confidence: 0.9 }];
}

const api = new TestApi();
beforeAll(() => api.start());
afterAll(() => api.stop());

function config(
  source: string,
  { retries = 1, backoff = 0, attempts = 5, failures = 5, cooldown = 10000, concurrency = 4 } = {},
): string {
  return `version: 1
data_dir: ./data
pipelines:
  tx:
    source: ${source}
    retries: { attempts: ${retries}, backoff_seconds: ${backoff} }
    transforms:
      - type: http
        name: classify
        url: ${api.url}
        batch_size: 100
        concurrency: ${concurrency}
        key: transaction_id
        fields: [transaction_id, mcc, description]
        timeout_ms: 2000
        retry: { max_attempts: ${attempts}, base_ms: 20, max_ms: 200 }
        breaker: { failures: ${failures}, cooldown_ms: ${cooldown} }
        response:
          category: { enum: [groceries, other] }
          confidence: { type: number, min: 0, max: 1 }
    sinks:
      - { type: duckdb, schema: research, table: tx, mode: table }
`;
}

const GENERATED = "{ type: generate, dataset: transactions, rows: 2000, seed: 7, anchor: '2026-01-15T00:00:00Z' }";

async function sinkRows(dir: string): Promise<{ n: number; ids: number; bad: number }> {
  const [r] = await duckQuery<{ n: bigint; ids: bigint; bad: bigint }>(
    `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
     SELECT count(*) AS n, count(DISTINCT transaction_id) AS ids,
       count(*) FILTER (WHERE category NOT IN ('groceries', 'other') OR NOT confidence BETWEEN 0 AND 1
         OR category <> CASE WHEN mcc = '5411' THEN 'groceries' ELSE 'other' END) AS bad
     FROM w.research.tx`,
  );
  return { n: Number(r!.n), ids: Number(r!.ids), bad: Number(r!.bad) };
}

async function deadLetters(dir: string): Promise<{ n: number; ids: number; errors: number; stages: string[] }> {
  const folder = join(dir, "data", "deadletter", "tx");
  if (!existsSync(folder)) return { n: 0, ids: 0, errors: 0, stages: [] };
  const [r] = await duckQuery<{ n: bigint; ids: bigint; errors: bigint; stages: string[] }>(
    `SELECT count(*) AS n, count(DISTINCT transaction_id) AS ids, count(_error) AS errors, list_distinct(list(_stage)) AS stages
     FROM read_parquet('${folder}/*.rows.parquet')`,
  );
  return { n: Number(r!.n), ids: Number(r!.ids), errors: Number(r!.errors), stages: [...r!.stages] };
}

async function run(
  dir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stderr: string; record?: RunRecord }> {
  const r = await runCli(["run", "tx", "--json"], { cwd: dir, env });
  const record = r.stdout.trim() ? { record: JSON.parse(r.stdout) as RunRecord } : {};
  return { code: r.code, stderr: r.stderr, ...record };
}

describe("the http enrich step", () => {
  it("joins the answers; malformed items, unanswered records and 500s: sink + dead letters = source", async () => {
    api.reset();
    api.behaviour.fail = new Set([2, 5, 6, 11]);
    const dir = projectDir(config(GENERATED));
    const { code, record } = await run(dir);
    expect(code, JSON.stringify(record?.error)).toBe(0);
    const sink = await sinkRows(dir);
    const dead = await deadLetters(dir);
    expect(sink.bad).toBe(0);
    expect(sink.n + dead.n).toBe(2000);
    expect(sink.ids + dead.ids).toBe(2000);
    expect(dead.n).toBeGreaterThan(40);
    expect(dead.errors).toBe(dead.n);
    expect(dead.stages).toEqual(["enrich:classify"]);
    expect(record!.rows.dead_lettered).toBe(dead.n);
    expect(record!.deadletter_path).toBe(`deadletter/tx/${record!.batch_id}.rows.parquet`);
    // 20 requests answered, each of the 4 failures retried once.
    expect(api.log.filter((l) => l.status === 200)).toHaveLength(20);
    expect(api.log).toHaveLength(24);
    // The batch is committed: its staged enrichment is gone.
    expect(readdirSync(join(dir, "data", ".staging", "tx"))).toEqual([]);
  });

  it("honours Retry-After", async () => {
    api.reset();
    api.behaviour.retryAfter = new Set([1]);
    const dir = projectDir(config(GENERATED, { concurrency: 1 }));
    const { code } = await run(dir);
    expect(code).toBe(0);
    expect(api.log[0]!.status).toBe(429);
    expect(api.log[1]!.at - api.log[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it("opens the breaker on a dead API: the run fails transient, nothing is dead-lettered", async () => {
    api.reset();
    api.behaviour.down = true;
    const dir = projectDir(config(GENERATED, { attempts: 10, failures: 3, concurrency: 1 }));
    const { code, record } = await run(dir);
    expect(code).toBe(1);
    expect(record!.error?.transient).toBe(true);
    expect(record!.error?.message).toMatch(/circuit breaker is open/);
    // Three failures open it; the fourth attempt is refused without a request.
    expect(api.log).toHaveLength(3);
    expect(existsSync(join(dir, "data", "deadletter"))).toBe(false);
  });

  it("probes once per cooldown while the API is down, and a retry succeeds once it is back", async () => {
    api.reset();
    Object.assign(api.behaviour, { down: true, downFor: 2500 });
    const dir = projectDir(config(GENERATED, { retries: 8, backoff: 0.2, failures: 3, cooldown: 1000 }));
    const { code, record } = await run(dir);
    expect(code, JSON.stringify(record?.error)).toBe(0);
    expect(record!.attempts).toBeGreaterThan(1);
    const whileDown = api.log.filter((l) => l.status === 503);
    // 3 to open it, then at most one probe per cooldown (plus one for timer slack).
    const cooldowns = Math.ceil((whileDown.at(-1)!.at - whileDown[0]!.at) / 1000);
    expect(whileDown.length).toBeLessThanOrEqual(3 + cooldowns + 1);
    const sink = await sinkRows(dir);
    const dead = await deadLetters(dir);
    expect(sink.n + dead.n).toBe(2000);
  });

  it("a retried batch reuses its staged enrichment: the API sees no new requests", async () => {
    api.reset();
    const dir = projectDir(config(GENERATED, { retries: 3 }));
    // Every attempt fails after staging: attempts 2 and 3 find the enrichment of attempt 1.
    const { code, record } = await run(dir, { SLUICE_FAILPOINTS: "after:stage=transient" });
    expect(code).toBe(1);
    expect(record!.attempts).toBe(3);
    expect(api.log).toHaveLength(20);
  });
});

describe("the http enrich step on an incremental source", () => {
  let pg: TestPostgres;
  let schema: TestSchema;
  beforeAll(async () => {
    pg = await testPostgres();
    schema = await testSchema(pg.url, "http_enrich");
  });
  afterAll(async () => {
    await schema?.drop();
    await pg?.stop();
  });

  it("a pending batch rerun after a SIGKILL reuses its staged enrichment and dead letters", async () => {
    api.reset();
    const out = `${schema.url}${schema.url.includes("?") ? "&" : "?"}table=tx_src`;
    const gen = await runCli(["generate", "transactions", "--rows", "1500", "--seed", "3", "--out", out]);
    expect(gen.code, gen.stderr).toBe(0);
    const source = `{ type: postgres, url: "${schema.url}", table: tx_src, cursor: timestamp, key: [transaction_id], mode: incremental }`;
    const dir = projectDir(config(source));
    const killed = await run(dir, { SLUICE_FAILPOINTS: "after:sink:0=kill" });
    expect(killed.code, killed.stderr).toBeNull();
    const requests = api.log.length;
    expect(requests).toBe(15);
    expect(readdirSync(join(dir, "data", ".staging", "tx"))).toHaveLength(1);
    const { code, record } = await run(dir);
    expect(code, JSON.stringify(record?.error)).toBe(0);
    expect(api.log).toHaveLength(requests);
    const sink = await sinkRows(dir);
    const dead = await deadLetters(dir);
    expect(sink.n + dead.n).toBe(1500);
    expect(sink.ids + dead.ids).toBe(1500);
    expect(dead.errors).toBe(dead.n);
    expect(readdirSync(join(dir, "data", ".staging", "tx"))).toEqual([]);
  });
});
