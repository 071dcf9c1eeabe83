import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "./support/cli.js";
import { freePort } from "./support/ports.js";

// `sluice classifier` over real HTTP: started through the built CLI on a free port, stopped with SIGTERM.

const CATEGORIES = [
  "groceries",
  "dining",
  "travel",
  "transport",
  "fuel",
  "entertainment",
  "utilities",
  "health",
  "shopping",
  "cash",
  "other",
];

interface Started {
  url: string;
  seed: number;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

const started = new Set<Started>();
let dir: string;
let transactions: Record<string, unknown>[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sluice-classifier-"));
  const out = join(dir, "tx.jsonl");
  const gen = await runCli(["generate", "transactions", "--rows", "2000", "--seed", "5", "--out", out]);
  expect(gen.code, gen.stderr).toBe(0);
  transactions = readFileSync(out, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
});

afterAll(async () => {
  for (const s of started) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `sluice classifier --port <free> --json ...args` and waits for its `{url, seed}` line. */
async function startCli(args: string[]): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, "classifier", "--port", String(port), "--json", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const line = await new Promise<string>((done, fail) => {
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
      const end = stdout.indexOf("\n");
      if (end >= 0) done(stdout.slice(0, end));
    });
    void exited.then((code) => fail(new Error(`classifier exited (${code}) before it started:\n${stderr}`)));
  });
  const { url, seed } = JSON.parse(line) as { url: string; seed: number };
  const s: Started = {
    url,
    seed,
    child,
    async stop() {
      started.delete(s);
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
  started.add(s);
  return s;
}

async function classify(url: string, records: unknown): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(`${url}/classify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(records),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Is an answer item well formed (category in the enum, confidence a number in [0, 1], the key a string)? */
function wellFormed(item: unknown, key = "transaction_id"): boolean {
  if (item === null || typeof item !== "object") return false;
  const { category, confidence, [key]: id } = item as Record<string, unknown>;
  return (
    typeof id === "string" &&
    CATEGORIES.includes(category as string) &&
    typeof confidence === "number" &&
    confidence >= 0 &&
    confidence <= 1
  );
}

function logLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("sluice classifier", () => {
  it("classifies every generated transaction, in order, deterministically; /health answers; SIGTERM exits 0", async () => {
    const s = await startCli([]);
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
    const batch = transactions.slice(0, 500);
    const first = await classify(s.url, batch);
    expect(first.status).toBe(200);
    const items = first.body as Record<string, unknown>[];
    expect(items).toHaveLength(batch.length);
    items.forEach((item, i) => {
      expect(item.transaction_id).toBe(batch[i]?.transaction_id);
      expect(wellFormed(item), JSON.stringify(item)).toBe(true);
    });
    // Every merchant of the dataset has a rule: nothing falls to `other`, and the answers are confident.
    expect(items.filter((x) => x.category === "other")).toEqual([]);
    expect(Math.min(...items.map((x) => x.confidence as number))).toBeGreaterThan(0.5);
    const byMerchant = new Map(items.map((x, i) => [batch[i]?.merchant, x.category]));
    expect(byMerchant.get("Whole Foods Market")).toBe("groceries");
    expect(byMerchant.get("Starbucks")).toBe("dining");
    expect(byMerchant.get("Uber")).toBe("transport");
    expect(byMerchant.get("Shell")).toBe("fuel");
    // Same records, reversed batch: the same answer per record.
    const again = await classify(s.url, [...batch].reverse());
    expect(again.body).toEqual([...items].reverse());
    // Unknown text goes to `other` with a low confidence; a non-array body is a 400.
    const odd = await classify(s.url, [{ transaction_id: "t1", merchant: "Zork", mcc: "0000", description: "ZZZ" }]);
    expect(odd.body).toEqual([{ transaction_id: "t1", category: "other", confidence: expect.any(Number) }]);
    expect((odd.body as { confidence: number }[])[0]?.confidence).toBeLessThan(0.5);
    expect((await classify(s.url, { not: "an array" })).status).toBe(400);
    expect(await s.stop()).toBe(0);
  });

  it("--key names the field echoed in each answer", async () => {
    const s = await startCli(["--key", "id"]);
    const res = await classify(s.url, [{ id: 7, merchant: "Netflix", mcc: "4899", description: "NETFLIX.COM" }]);
    expect(res.body).toEqual([{ id: 7, category: "entertainment", confidence: expect.any(Number) }]);
    await s.stop();
  });

  it("--error-rate fails about that share of requests (500, 503, 429 with Retry-After), reproducibly by seed", async () => {
    const log = join(dir, "errors.log");
    const run = async (file?: string): Promise<number[]> => {
      const s = await startCli([
        "--error-rate",
        "0.3",
        "--seed",
        "11",
        "--retry-after",
        "2",
        ...(file ? ["--log", file] : []),
      ]);
      const statuses: number[] = [];
      for (let i = 0; i < 300; i++) {
        const res = await classify(s.url, transactions.slice(i, i + 2));
        statuses.push(res.status);
        if (res.status === 429) expect(res.headers.get("retry-after")).toBe("2");
        if (res.status === 200) expect(res.body).toHaveLength(2);
      }
      await s.stop();
      return statuses;
    };
    const statuses = await run(log);
    const failed = statuses.filter((x) => x !== 200);
    expect(failed.length / statuses.length).toBeGreaterThan(0.2);
    expect(failed.length / statuses.length).toBeLessThan(0.4);
    expect(new Set(failed)).toEqual(new Set([500, 503, 429]));
    // Same seed, same client pattern: the same statuses.
    expect(await run()).toEqual(statuses);
    // The request log: one line per request, in order, with its status.
    const lines = logLines(log);
    expect(lines.map((l) => l.status)).toEqual(statuses);
    expect(lines.map((l) => l.seq)).toEqual(statuses.map((_, i) => i + 1));
    for (const l of lines) {
      expect(l).toMatchObject({ items: 2, latency_ms: expect.any(Number), time: expect.any(String) });
      expect(l.fault).toBe(l.status === 200 ? null : "error");
    }
  });

  it("--malformed-rate breaks about that share of items, in every way", async () => {
    const log = join(dir, "malformed.log");
    const s = await startCli(["--malformed-rate", "0.1", "--seed", "3", "--log", log]);
    let bad = 0;
    let total = 0;
    const kinds = new Set<string>();
    for (let b = 0; b < 20; b++) {
      const batch = transactions.slice(b * 100, b * 100 + 100);
      const res = await classify(s.url, batch);
      expect(res.status).toBe(200);
      const items = res.body as Record<string, unknown>[];
      const ids = new Set(batch.map((r) => r.transaction_id));
      const answered = new Set(items.map((x) => x.transaction_id));
      const missing = [...ids].filter((id) => !answered.has(id)).length;
      const missingKey = items.filter((x) => !("transaction_id" in x)).length;
      // An item left out entirely is a missing id whose answer is not there under a key-less item either.
      const broken = items.filter((x) => !wellFormed(x)).length;
      bad += broken + missing - missingKey;
      total += batch.length;
      if (missing > missingKey) kinds.add("missing");
      for (const x of items) {
        if (!("transaction_id" in x)) kinds.add("missing_key");
        else if (typeof x.confidence === "string") kinds.add("confidence_string");
        else if (!CATEGORIES.includes(x.category as string)) kinds.add("bad_category");
        else if (!wellFormed(x)) kinds.add("confidence_out_of_range");
      }
    }
    await s.stop();
    expect(bad / total).toBeGreaterThan(0.07);
    expect(bad / total).toBeLessThan(0.13);
    expect(kinds).toEqual(
      new Set(["missing", "missing_key", "confidence_string", "bad_category", "confidence_out_of_range"]),
    );
    const lines = logLines(log);
    expect(lines).toHaveLength(20);
    expect(lines.reduce((n, l) => n + (l.malformed as number), 0)).toBe(bad);
  });

  it("--latency-ms delays each request within its range", async () => {
    const s = await startCli(["--latency-ms", "60-90", "--seed", "1"]);
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      expect((await classify(s.url, transactions.slice(0, 1))).status).toBe(200);
      const ms = performance.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(59);
      expect(ms).toBeLessThan(1000);
    }
    await s.stop();
  });

  it("the outage window answers every request 503 at once, then recovers; the log shows each request", async () => {
    const log = join(dir, "outage.log");
    const s = await startCli(["--outage-after", "1", "--outage-for", "1.5", "--log", log]);
    const t0 = performance.now();
    const seen: { sent: number; at: number; status: number }[] = [];
    while (performance.now() - t0 < 3500) {
      const sent = (performance.now() - t0) / 1000;
      const res = await classify(s.url, transactions.slice(0, 3));
      seen.push({ sent, at: (performance.now() - t0) / 1000, status: res.status });
      if (res.status === 503) expect(res.headers.get("retry-after")).toBeNull();
      await new Promise((r) => setTimeout(r, 50));
    }
    await s.stop();
    // One window: 200s, then 503s, then 200s again.
    expect(seen.map((x) => x.status).join(",")).toMatch(/^(200,)+(503,)+(200,)*200$/);
    // The CLI's clock starts a little before ours (it prints after it listens): 0.1 s of slack; a request
    // reached the server between its sending and its answer.
    expect(seen.filter((x) => x.at < 0.9).every((x) => x.status === 200)).toBe(true);
    expect(seen.filter((x) => x.sent >= 1 && x.at < 2.4).every((x) => x.status === 503)).toBe(true);
    expect(seen.filter((x) => x.sent >= 2.5).every((x) => x.status === 200)).toBe(true);
    expect(seen.filter((x) => x.sent >= 2.5).length).toBeGreaterThan(3);
    const lines = logLines(log);
    expect(lines).toHaveLength(seen.length);
    const outage = lines.filter((l) => l.fault === "outage");
    expect(outage.length).toBe(seen.filter((x) => x.status === 503).length);
    expect(outage.every((l) => l.status === 503)).toBe(true);
    // Spread of the outage lines in the log: about the window's length.
    const times = outage.map((l) => Date.parse(l.time as string));
    const span = (Math.max(...times) - Math.min(...times)) / 1000;
    expect(span).toBeGreaterThan(0.9);
    expect(span).toBeLessThan(1.6);
  });

  it("refuses bad flags with exit code 2", async () => {
    for (const args of [
      ["--error-rate", "1.5"],
      ["--malformed-rate", "x"],
      ["--latency-ms", "50-10"],
      ["--outage-after", "5"],
      ["--port", "99999"],
    ]) {
      const res = await runCli(["classifier", ...args]);
      expect(res.code, `${args.join(" ")}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toMatch(/^error: /);
    }
  });
});
