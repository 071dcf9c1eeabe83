import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testRunContext } from "../../test/support/run-context.js";
import { configSpec } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import type { RunContext } from "../plan/batch-context.js";
import type { StageTimer } from "../plan/batch-outcome.js";
import { compilePlan } from "../plan/batch-plan.js";
import { runBatch } from "../plan/run-batch.js";
import type { BatchTap } from "../plan/verdict-rows.js";
import { checkPredicate, ERROR_FILE, outputDir, requestPath, STALE_MS, tailDir } from "./tail-request.js";
import { tailTap } from "./tail-tap.js";

// The worker's side of `sluice tail` through the real plan and a real DuckDB engine: a batch with a
// PII step and a contract in quarantine mode runs through runBatch with the tap as onValidated.

const config = configSpec.parse({
  pipelines: {
    events: {
      source: { type: "generate", dataset: "pubsub" },
      transforms: [{ type: "pii", columns: { email: "mask" } }],
      contract: {
        columns: {
          id: { type: "integer", required: true },
          email: { type: "string" },
          amount: { type: "number", required: true },
        },
      },
      validation: "quarantine",
      sinks: [{ type: "parquet", path: "raw/events" }],
    },
  },
});

const timed: StageTimer = (_stage, fn) => fn();

/** Rows 0..19: amount = id * 10; row 5 has no amount (quarantined); every email is a person's. */
const INPUT = `SELECT i::VARCHAR AS id, 'user' || i || '@example.com' AS email,
  CASE WHEN i = 5 THEN NULL ELSE (i * 10)::VARCHAR END AS amount, 'events#' || i AS _source_pos FROM range(20) t(i)`;

describe("tailTap: sluice tail's tap on a worker's batches", () => {
  let engine: Engine;
  let dataDir: string;
  let batch = 0;
  beforeAll(async () => {
    engine = await Engine.open();
    dataDir = mkdtempSync(join(tmpdir(), "sluice-tail-"));
  });
  afterAll(() => engine.close());

  async function runWithTap(tap: BatchTap | undefined): Promise<void> {
    const plan = compilePlan(config, "events");
    const b = ++batch;
    let n = 0;
    const ctx: RunContext = testRunContext(engine, {
      dataDir,
      scratchDir: join(dataDir, ".tmp", `w${b}`),
      pipeline: "events",
      pipelineConfig: plan.config,
      contract: plan.contract,
      batchId: `batch-${b}`,
      tmpName: (p) => `${p}_${b}_${++n}`,
    });
    await engine.run(`CREATE TABLE input_${b} AS ${INPUT}`);
    const outcome = await runBatch(
      ctx,
      plan,
      { relation: `input_${b}`, rows: 20, extent: "replace", complete: true, description: "input" },
      { timed, ...(tap ? { onValidated: tap } : {}) },
    );
    expect(outcome.rows).toMatchObject({ valid: 19, quarantined: 1 });
    await engine.run(`DROP TABLE input_${b}`);
  }

  function request(id: string, fields: Record<string, unknown>): string {
    const dir = tailDir(dataDir, "events");
    mkdirSync(outputDir(dir, id), { recursive: true });
    writeFileSync(
      requestPath(dir, id),
      JSON.stringify({ id, pid: process.pid, host: hostname(), sample: 100, started_at: "x", ...fields }),
    );
    return outputDir(dir, id);
  }

  function rowsIn(out: string): Record<string, unknown>[] {
    return readdirSync(out)
      .filter((f) => f.endsWith(".jsonl"))
      .flatMap((f) => readFileSync(join(out, f), "utf8").split("\n").filter(Boolean))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it("does nothing when no tail listens, and leaves the batch alone", async () => {
    await runWithTap(tailTap(dataDir, "events"));
    expect(existsSync(tailDir(dataDir, "events"))).toBe(false);
  });

  it("writes the matching rows, masked as the lake holds them, with their verdict and reason", async () => {
    const out = request("t1", { where: "amount >= 150 OR _verdict = 'quarantined'" });
    const all = request("t2", { sample: 3 });
    await runWithTap(tailTap(dataDir, "events"));
    const rows = rowsIn(out);
    expect(rows.map((r) => r.id)).toEqual([5, 15, 16, 17, 18, 19]);
    expect(rows[0]).toMatchObject({ email: "u***@example.com", amount: null, _verdict: "quarantined" });
    expect(String(rows[0]!._reason)).toContain("amount required");
    expect(rows[1]).toEqual({
      id: 15,
      email: "u***@example.com",
      amount: 150,
      _source_pos: "events#15",
      _verdict: "valid",
      _reason: null,
    });
    // No row anywhere holds an address in clear.
    expect(JSON.stringify(rows)).not.toContain("user");
    // A sample of 3 rows per batch, whatever matches.
    expect(rowsIn(all)).toHaveLength(3);
  });

  it("reports a predicate that fails on the batch to the tail, not to the batch", async () => {
    const out = request("t3", { where: "no_such_column = 1" });
    await runWithTap(tailTap(dataDir, "events"));
    const { message } = JSON.parse(readFileSync(join(out, ERROR_FILE), "utf8")) as { message: string };
    expect(message).toContain("no_such_column");
  });

  it("removes the requests of tails that are gone", async () => {
    const dir = tailDir(dataDir, "events");
    const dead = request("t4", { pid: 2 ** 22 + 12345 });
    const stale = request("t5", {});
    const old = new Date(Date.now() - STALE_MS - 1000);
    utimesSync(requestPath(dir, "t5"), old, old);
    await runWithTap(tailTap(dataDir, "events"));
    for (const [id, out] of [
      ["t4", dead],
      ["t5", stale],
    ] as const) {
      expect(existsSync(requestPath(dir, id))).toBe(false);
      expect(existsSync(out)).toBe(false);
    }
  });

  it("refuses predicates that are more than one expression or reach outside the batch", async () => {
    expect(await checkPredicate(engine, "amount > 10 AND lower(email) LIKE 'a%'")).toBeUndefined();
    expect(await checkPredicate(engine, "_verdict = 'quarantined' AND _reason ILIKE '%required%'")).toBeUndefined();
    expect(await checkPredicate(engine, "getvariable('pii_salt_1') LIKE 'a%'")).toContain("getvariable");
    expect(await checkPredicate(engine, "id IN (SELECT 1)")).toContain("subquery");
    expect(await checkPredicate(engine, "1) UNION ALL (SELECT 2")).toBe("is not one SQL expression");
    expect(await checkPredicate(engine, "1); COPY (SELECT 1) TO '/tmp/x'; SELECT (1")).toBeDefined();
    expect(await checkPredicate(engine, "amount >")).toContain("does not parse");
    expect(await checkPredicate(engine, "id = 1 -- a comment ends at the line")).toBeUndefined();
    expect(await checkPredicate(engine, "len(read_text('/etc/passwd')) > 0")).toBeDefined();
  });
});
