import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningClassifier, startClassifier } from "../src/classifier/start-classifier.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { skipMessage, uniqueName } from "./support/server-process.js";
import { type StreamFixture, streamFixture } from "./support/stream-broker.js";

// `dead_letter: { to: nats://... | redis://... }`: every row the `http` step dead-letters goes to
// `deadletter/<pipeline>/<batch>.rows.parquet` AND to the broker, with its error in headers (NATS)
// or fields (Redis), exactly once: a kill between the Parquet file and the broker is repaired by the
// rerun of the pending batch (every sink `held`), and a rerun after the broker got them adds nothing.
// A broker that does not answer fails the batch (transient, its password never shown) and loses nothing.

const ROWS = 300;

let classifier: RunningClassifier;
beforeAll(async () => {
  // A fifth of the answer items malformed (bad category, confidence out of range, missing, no key).
  classifier = await startClassifier({ malformedRate: 0.2, seed: 11 });
});
afterAll(async () => {
  await classifier?.close();
});

function yaml(source: string, deadLetterTo: string): string {
  return `version: 1
data_dir: ./data
pipelines:
  tx:
    source: ${source}
    validation: off
    dedup: { strategy: none }
    retries: { attempts: 1, backoff_seconds: 0 }
    transforms:
      - type: http
        name: classify
        url: ${classifier.url}/classify
        batch_size: 100
        key: transaction_id
        fields: [transaction_id, merchant, mcc, description, amount]
        retry: { max_attempts: 3, base_ms: 20, max_ms: 100 }
        response:
          category: { enum: [groceries, dining, travel, transport, fuel, entertainment, utilities, health, shopping, cash, other] }
          confidence: { type: number, min: 0, max: 1 }
    sinks:
      - { type: duckdb, schema: s, table: tx, mode: table }
    dead_letter: { to: "${deadLetterTo}" }
`;
}

function transactions(): string[] {
  return Array.from({ length: ROWS }, (_, i) =>
    JSON.stringify({
      transaction_id: `t${String(i).padStart(4, "0")}`,
      merchant: i % 2 ? "Whole Foods" : "Shell",
      mcc: i % 2 ? "5411" : "5541",
      description: i % 2 ? "WHOLE FOODS MARKET" : "SHELL OIL 123",
      amount: i + 0.5,
    }),
  );
}

/** One letter as the broker holds it: the record, and what the message says about it. */
interface Published {
  readonly record: Record<string, unknown>;
  readonly error: string | undefined;
  readonly stage: string | undefined;
  readonly batch: string | undefined;
  readonly pipeline: string | undefined;
  readonly pos: string | undefined;
  readonly id?: string | undefined;
}

/** The dead-letter target on the fixture's broker, and how to read it back. */
interface Target {
  readonly url: string;
  read(): Promise<Published[]>;
  close(): Promise<void>;
}

function brokerUrl(fixture: StreamFixture): string {
  return /url: "([^"]+)"/.exec(fixture.source())![1]!;
}

function natsTarget(server: string): Target {
  const subject = `${uniqueName("dl").replace(/\W/g, "_")}.dead`;
  const stream = subject.replace(/\W/g, "_");
  const withJsm = async <T>(fn: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>) => {
    const nc = await connect({ servers: server.replace("nats://", "") });
    try {
      return await fn(await jetstreamManager(nc));
    } finally {
      await nc.close();
    }
  };
  return {
    url: `${server}/${subject}`,
    read: () =>
      withJsm(async (jsm) => {
        const info = await jsm.streams.info(stream).catch(() => undefined);
        const out: Published[] = [];
        for (let seq = 1; info && seq <= info.state.last_seq; seq++) {
          const m = await jsm.streams.getMessage(stream, { seq });
          if (!m) continue;
          out.push({
            record: m.json(),
            error: m.header?.get("Sluice-Error"),
            stage: m.header?.get("Sluice-Stage"),
            batch: m.header?.get("Sluice-Batch-Id"),
            pipeline: m.header?.get("Sluice-Pipeline"),
            pos: m.header?.get("Sluice-Source-Pos") || undefined,
            id: m.header?.get("Nats-Msg-Id"),
          });
        }
        return out;
      }),
    close: () => withJsm((jsm) => jsm.streams.delete(stream).then(() => undefined)).catch(() => undefined),
  };
}

function redisTarget(server: string): Target {
  const key = uniqueName("sluice_dl");
  const withClient = async <T>(fn: (r: Redis) => Promise<T>) => {
    const r = new Redis(server);
    try {
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };
  return {
    url: `${server}/${key}`,
    read: () =>
      withClient(async (r) =>
        (await r.xrange(key, "-", "+")).map(([, flat]) => {
          const f = new Map<string, string>();
          for (let i = 0; i < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
          return {
            record: JSON.parse(f.get("data")!),
            error: f.get("error"),
            stage: f.get("stage"),
            batch: f.get("batch_id"),
            pipeline: f.get("pipeline"),
            pos: f.get("source_pos"),
          };
        }),
      ),
    close: () =>
      withClient((r) => r.del(key, `${key}:sluice_batches`, `${key}:sluice_batch_order`).then(() => undefined)),
  };
}

/** The plan's dead-letter files of `tx`: each row's record id, error, stage, batch and position. */
async function parquetLetters(dir: string) {
  const folder = join(dir, "data", "deadletter", "tx");
  if (!existsSync(folder) || readdirSync(folder).filter((f) => f.endsWith(".rows.parquet")).length === 0) return [];
  return duckQuery<{ id: string; error: string; stage: string; batch: string; pos: string | null }>(
    `SELECT transaction_id AS id, _error AS error, _stage AS stage, _batch_id AS batch, _source_pos AS pos
     FROM read_parquet('${folder}/*.rows.parquet') ORDER BY id`,
  );
}

async function warehouseRows(dir: string): Promise<number> {
  const [r] = await duckQuery<{ n: bigint }>(
    `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY); SELECT count(*) AS n FROM w.s.tx`,
  );
  return Number(r!.n);
}

/** One `sluice stream tx --max-batches 1`, with failpoints. */
function stream(dir: string, failpoints?: string) {
  return runCli(["stream", "tx", "--max-batches", "1", "--json"], {
    cwd: dir,
    env: failpoints ? { SLUICE_FAILPOINTS: failpoints } : {},
  });
}

describe.each(["nats", "redis"] as const)("dead letters to %s", (kind) => {
  it("the broker holds exactly the dead-lettered rows with their errors, once across kills and reruns", async (t) => {
    const fixture = await streamFixture(kind);
    if (!fixture) return t.skip(skipMessage(kind));
    const server = brokerUrl(fixture);
    const target = kind === "nats" ? natsTarget(server) : redisTarget(server);
    try {
      await fixture.publish(transactions());
      const source = fixture.source(", max_rows: 1000, max_wait_ms: 300");

      // The broker does not answer: the batch fails (transient), its password nowhere, nothing lost.
      const down = kind === "nats" ? "nats://dl:s3cret@127.0.0.1:1/dead" : "redis://dl:s3cret@127.0.0.1:1/dead";
      const dir = projectDir(yaml(source, down));
      const failed = await stream(dir);
      expect(`${failed.stdout}${failed.stderr}`).not.toContain("s3cret");
      expect(failed.stderr).toMatch(/cannot connect to (NATS|Redis) at .*dl:\*\*\*@127\.0\.0\.1:1/);
      const letters = await parquetLetters(dir);
      expect(letters.length).toBeGreaterThan(20);
      expect(letters.length).toBeLessThan(ROWS);
      expect(await target.read()).toEqual([]);
      const runs = join(dir, "data", "runs", "tx");
      const record = JSON.parse(readFileSync(join(runs, readdirSync(runs)[0]!), "utf8"));
      expect(record).toMatchObject({ status: "failed", error: { transient: true } });
      expect(JSON.stringify(record)).not.toContain("s3cret");

      // The right broker now; killed after the Parquet file, before the broker: the rerun of the
      // pending batch (every sink holds it) publishes from the file; killed after the broker this time.
      writeFileSync(join(dir, "sluice.yaml"), yaml(source, target.url));
      await stream(dir, "after:deadletter-file=kill");
      expect(await target.read()).toEqual([]);
      const killed = await stream(dir, "after:quarantine=kill");
      expect(killed.code).not.toBe(0);
      const once = await target.read();
      expect(once).toHaveLength(letters.length);

      // The batch again, to its commit: the broker holds its letters, nothing is published twice.
      const done = await stream(dir);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stderr).toContain("holds them already");
      const published = await target.read();
      expect(published).toHaveLength(letters.length);
      expect(await parquetLetters(dir)).toEqual(letters);
      expect((await warehouseRows(dir)) + letters.length).toBe(ROWS);

      // Exactly the dead-lettered rows, each with its error, stage, batch and position.
      const batch = letters[0]!.batch;
      const byId = new Map(published.map((p) => [p.record.transaction_id as string, p]));
      expect(byId.size).toBe(letters.length);
      for (const l of letters) {
        const p = byId.get(l.id)!;
        expect(p, l.id).toBeDefined();
        expect(p).toMatchObject({ error: l.error, stage: "enrich:classify", batch, pipeline: "tx" });
        expect(p.pos).toBe(l.pos ?? undefined);
        expect(Object.keys(p.record).filter((k) => k.startsWith("_"))).toEqual([]);
        expect(p.record).toMatchObject({ transaction_id: l.id, mcc: expect.any(String) });
      }
      if (kind === "nats") {
        const ids = published.map((p) => p.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of ids) expect(id).toMatch(new RegExp(`^${batch.replace(/[^\w]/g, "\\$&")}:dead:\\d+$`));
      }
    } finally {
      await target.close();
      await fixture.close();
    }
  }, 180_000);
});
