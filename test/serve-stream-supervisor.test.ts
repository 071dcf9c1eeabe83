import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";
import { eventsYaml } from "./support/events-yaml.js";
import { type ServeLine, type ServeProcess, startServe } from "./support/serve-process.js";
import { skipMessage } from "./support/server-process.js";
import { type StreamFixture, streamFixture } from "./support/stream-broker.js";

// `sluice serve` supervises a streaming pipeline's `sluice stream` worker (issue 13): the worker killed
// with SIGKILL mid-stream is restarted by the server, and every message lands exactly once (dedup none,
// so a message written twice would show as an extra row) in the warehouse and the Delta lake.

const BEFORE = 2000;
const AFTER = 1000;
const TOTAL = BEFORE + AFTER;

function range(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: from + i, v: from + i, kind: `k${(from + i) % 3}` }),
  );
}

async function warehouse(dir: string): Promise<{ n: number; versions: number }> {
  const [r] = await duckQuery<{ n: bigint; versions: bigint }>(
    `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
     SELECT count(*) AS n, count(DISTINCT v) AS versions FROM w.s.events`,
  );
  return { n: Number(r!.n), versions: Number(r!.versions) };
}

/** Polls the warehouse until `done`, 45 s at most. */
async function waitForRows(
  dir: string,
  serve: ServeProcess,
  what: string,
  done: (n: number) => boolean,
): Promise<void> {
  let seen: unknown = "(nothing yet)";
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const held = await warehouse(dir).catch((err: unknown) => String(err));
    seen = held;
    if (typeof held !== "string" && done(held.n)) return;
  }
  throw new Error(
    `${what}: the warehouse holds ${JSON.stringify(seen)}; serve stderr:\n${serve.stderr().slice(-6000)}`,
  );
}

const workerEvent = (state: string) => (l: ServeLine) => l.event === "worker" && l.state === state;
const pidOf = (l: ServeLine) => Number(/pid (\d+)/.exec(l.detail ?? "")?.[1]);

describe.each(["redis", "nats"] as const)("sluice serve supervises a stream worker (%s)", (kind) => {
  let fixture: StreamFixture | undefined;
  let serve: ServeProcess | undefined;
  afterEach(async () => {
    await serve?.stop("SIGKILL");
    serve = undefined;
    await fixture?.close();
    fixture = undefined;
  });

  it(`restarts a worker killed with SIGKILL; ${TOTAL} messages land once each`, async (t) => {
    fixture = await streamFixture(kind);
    if (!fixture) {
      console.warn(skipMessage(kind));
      return t.skip();
    }
    const dir = projectDir(eventsYaml(fixture.source(", max_rows: 200, max_wait_ms: 100")), "sluice-serve-stream-");
    const s = startServe(dir);
    serve = s;
    const first = await s.waitFor("the worker's start", workerEvent("running"));
    const pid = pidOf(first);
    expect(pid).toBeGreaterThan(0);

    await fixture.publish(range(0, BEFORE));
    await waitForRows(dir, s, "before the kill", (n) => n > 0);
    process.kill(pid, "SIGKILL");

    const backoff = await s.waitFor("the worker's backoff", workerEvent("backoff"));
    expect(backoff.detail).toMatch(/^killed by SIGKILL; restart in 1 s$/);
    const again = await s.waitFor("the worker's restart", workerEvent("running"), 30_000, s.lines().indexOf(backoff));
    expect(pidOf(again)).not.toBe(pid);

    await fixture.publish(range(BEFORE, AFTER));
    await waitForRows(dir, s, `after the restart (want ${TOTAL} rows)`, (n) => n >= TOTAL);
    await new Promise((r) => setTimeout(r, 500));

    expect(await s.stop("SIGTERM"), s.stderr()).toBe(0);
    expect(s.lines().filter(workerEvent("stopped")).at(-1)?.detail).toMatch(/exited with code 0/);
    expect(await warehouse(dir)).toEqual({ n: TOTAL, versions: TOTAL });
    const lake = await runCli(
      [
        "query",
        "--delta",
        "l=data/lake/events",
        "SELECT count(*) AS n, count(DISTINCT v) AS d FROM l",
        "--format",
        "json",
      ],
      { cwd: dir },
    );
    expect(lake.code, lake.stderr).toBe(0);
    expect(JSON.parse(lake.stdout)).toEqual([{ n: TOTAL, d: TOTAL }]);
  });
});
