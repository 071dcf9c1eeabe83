import { appendFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/load-config.js";
import type { RunRecord } from "../src/plan/run-record.js";
import { duePartition, type FreshnessResult, freshnessClock } from "../src/runner/check-freshness.js";
import { projectDir, runCli } from "./support/cli.js";

/** A webhook receiver on loopback: the target the notifications go to (no mock in the run). */
interface Received {
  path: string;
  body: Record<string, unknown> & { status: string; fingerprint: string; text: string };
}
const received: Received[] = [];
let server: Server;
let url = "";
beforeAll(async () => {
  server = createServer((req, res) => {
    let data = "";
    req.on("data", (d: Buffer) => {
      data += d.toString();
    });
    req.on("end", () => {
      received.push({ path: req.url ?? "", body: JSON.parse(data) as Received["body"] });
      res.end("ok");
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
});

const row = (id: number, day: string) => `${JSON.stringify({ id, ts: `${day}T10:00:00Z` })}\n`;

function project(hookPath: string, freshness = ""): string {
  const dir = projectDir(`version: 1
data_dir: ./data
alerting:
  webhooks: ["${url}/${hookPath}"]
  retries: { attempts: 3, backoff_ms: 50 }
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: "off"
    retries: { attempts: 1, backoff_seconds: 0 }
    sinks:
      - { type: parquet, path: lake/events, layout: partitioned, partition_by: event_date, time_column: ts }
    alerts:
      - { metric: failed }
${freshness}`);
  writeFileSync(join(dir, "events.jsonl"), row(1, "2026-03-01"));
  return dir;
}

async function run(dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; record: RunRecord }> {
  const r = await runCli(["run", "--json"], { cwd: dir, env });
  expect(r.stdout, r.stderr).not.toBe("");
  return { code: r.code, record: JSON.parse(r.stdout) as RunRecord[] | RunRecord as RunRecord };
}

const at = (path: string) => received.filter((r) => r.path === `/${path}`);

describe("alert incidents across processes", () => {
  it("five failed runs then one that succeeds: exactly one firing and one resolved notification", async () => {
    const dir = project("runs");
    const fingerprints = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { code, record } = await run(dir, { SLUICE_FAILPOINTS: "after:extract=fail" });
      expect(code).toBe(1);
      expect(record.status).toBe("failed");
      expect(record.alerts).toHaveLength(1);
      expect(record.alerts[0]).toMatchObject({ metric: "failed", rule: "above 0" });
      fingerprints.add(record.alerts[0]!.fingerprint!);
      // Every run's record says what it cost.
      expect(record.resources!.peak_rss_bytes).toBeGreaterThan(10_000_000);
      expect(record.resources!.cpu_user_ms).toBeGreaterThan(0);
    }
    expect(fingerprints.size).toBe(1);
    const open = JSON.parse(
      (await runCli(["alerts", "--json"], { cwd: dir, env: { SLUICE_NOW: "2026-03-02T09:00:00Z" } })).stdout,
    );
    expect(open.open).toMatchObject([{ pipeline: "events", rule: "failed above 0", count: 5, status: "firing" }]);

    const ok = await run(dir);
    expect(ok.code).toBe(0);
    expect(ok.record.alerts).toEqual([]);
    expect(ok.record.alerts_resolved).toMatchObject([{ metric: "failed", fingerprint: [...fingerprints][0] }]);

    const bodies = at("runs").map((r) => r.body);
    expect(bodies.map((b) => b.status)).toEqual(["firing", "resolved"]);
    expect(new Set(bodies.map((b) => b.fingerprint))).toEqual(fingerprints);
    expect(bodies[0]).toMatchObject({
      text: expect.stringContaining("[FIRING] events: failed = 1 is above 0"),
      endsAt: "0001-01-01T00:00:00Z",
      labels: { alertname: "sluice_failed", pipeline: "events" },
    });
    expect(bodies[1]!.startsAt).toBe(bodies[0]!.startsAt);
    expect(Date.parse(bodies[1]!.endsAt as string)).toBeGreaterThan(Date.parse(bodies[1]!.startsAt as string));

    // A later success changes nothing: no notification.
    await run(dir);
    expect(at("runs")).toHaveLength(2);
  }, 120_000);

  it("freshness: yesterday's partition missing at 08:00 fires once, resolves when it lands", async () => {
    const dir = project("fresh", `      - { freshness: { partition: yesterday, by: "08:00", timezone: UTC } }\n`);
    expect((await run(dir)).code).toBe(0);
    const check = async (now: string) => {
      const r = await runCli(["alerts", "--json"], { cwd: dir, env: { SLUICE_NOW: now } });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { freshness: { partition: string; present: boolean }[]; open: unknown[] };
    };
    // 2026-03-02 09:00: 03-01 was due at 08:00 and is there.
    expect((await check("2026-03-02T09:00:00Z")).freshness).toMatchObject([{ partition: "2026-03-01", present: true }]);
    // 2026-03-03 07:00: 03-02 is not due before 08:00; 03-01 still counts.
    expect((await check("2026-03-03T07:59:00Z")).open).toEqual([]);
    expect(at("fresh")).toHaveLength(0);
    // 08:00 passed without 03-02: one firing, however often cron checks.
    const late = await check("2026-03-03T08:01:00Z");
    expect(late.freshness).toMatchObject([{ partition: "2026-03-02", present: false }]);
    expect(late.open).toHaveLength(1);
    await check("2026-03-03T08:16:00Z");
    expect(at("fresh").map((r) => r.body.status)).toEqual(["firing"]);
    expect(at("fresh")[0]!.body.text).toContain("partition event_date=2026-03-02 of lake/events is not present");
    // The late load arrives; the next check resolves it.
    appendFileSync(join(dir, "events.jsonl"), row(2, "2026-03-02"));
    expect((await run(dir)).code).toBe(0);
    const after = await check("2026-03-03T08:31:00Z");
    expect(after.open).toEqual([]);
    expect(at("fresh").map((r) => r.body.status)).toEqual(["firing", "resolved"]);
  }, 120_000);

  it("freshnessClock checks on the server's clock until stopped", async () => {
    const dir = project("clock", `      - { freshness: { partition: today, by: "00:00", timezone: UTC } }\n`);
    const loaded = await loadConfig(join(dir, "sluice.yaml"), { sets: [] });
    const results: FreshnessResult[] = [];
    const clock = freshnessClock(loaded, {
      everyMs: 50,
      now: () => new Date("2026-03-05T12:00:00Z"),
      onResult: (r) => results.push(r),
    });
    await new Promise((done) => setTimeout(done, 400));
    clock.stop();
    const seen = results.length;
    expect(seen).toBeGreaterThan(1);
    expect(results[0]!.checks).toMatchObject([{ partition: "2026-03-05", present: false, firing: true }]);
    expect(results[0]!.fired).toHaveLength(1);
    expect(results.slice(1).every((r) => r.fired.length === 0)).toBe(true);
    await new Promise((done) => setTimeout(done, 200));
    expect(results.length).toBe(seen);
    expect(at("clock").map((r) => r.body.status)).toEqual(["firing"]);
  });

  it("the due partition follows the time zone of `by`", () => {
    const f = { partition: "yesterday" as const, by: "08:00", timezone: "America/New_York" };
    // 12:30 UTC is 07:30 in New York (EST): yesterday's partition is not due yet.
    expect(duePartition(f, new Date("2026-03-03T12:30:00Z"))).toEqual({
      partition: "2026-03-01",
      due: "2026-03-02T08:00",
    });
    expect(duePartition(f, new Date("2026-03-03T13:30:00Z"))).toEqual({
      partition: "2026-03-02",
      due: "2026-03-03T08:00",
    });
    expect(
      duePartition({ ...f, partition: "today", timezone: "UTC" }, new Date("2026-03-03T08:00:00Z")).partition,
    ).toBe("2026-03-03");
  });
});
