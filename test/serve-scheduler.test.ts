import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectDir, runCli } from "./support/cli.js";
import { type ServeLine, startServe } from "./support/serve-process.js";

// `sluice serve` (issue 13) with real runs in child processes: a per-second schedule whose first run
// fails (its input file is missing) is retried and succeeds; its `after` dependent runs next; a manual
// `sluice run` of a pipeline the server is running is refused, naming the running run. Assertions are
// on the order and content of the server's events, never on timing.

/** An enrichment API that holds every request until open() (so a scheduled run stays in progress). */
class Gate {
  private server!: Server;
  private held: (() => void)[] = [];
  private isOpen = false;
  requests = 0;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((ok) => this.server.listen(0, "127.0.0.1", ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/tag`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      this.requests++;
      const answer = () => {
        const records = JSON.parse(body) as { id: number }[];
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(records.map((r) => ({ id: r.id, tag: "ok" }))));
      };
      if (this.isOpen) answer();
      else this.held.push(answer);
    });
  }

  open(): void {
    this.isOpen = true;
    for (const answer of this.held.splice(0)) answer();
  }

  stop(): Promise<void> {
    this.open();
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

const gate = new Gate();
beforeAll(() => gate.start());
afterAll(() => gate.stop());

function yaml(gateUrl: string): string {
  return `version: 1
data_dir: ./data
pipelines:
  ticks:
    source: { type: file, path: in/ticks.csv }
    schedule: "* * * * * *"
    retries: { attempts: 2, backoff_seconds: 2 }
    contract:
      columns:
        id: { type: integer, required: true }
    sinks:
      - { type: parquet, path: lake/ticks }
  after_ticks:
    source: { type: generate, dataset: behavioral_events, rows: 10 }
    after: [ticks]
    sinks:
      - { type: parquet, path: lake/after_ticks }
  gated:
    source: { type: file, path: gated.jsonl }
    schedule: "* * * * * *"
    timezone: Europe/Berlin
    transforms:
      - type: http
        url: ${gateUrl}
        key: id
        timeout_ms: 60000
        response:
          tag: { type: string }
    sinks:
      - { type: parquet, path: lake/gated }
`;
}

const ended = (pipeline: string, status?: string) => (l: ServeLine) =>
  l.event === "run-ended" && l.pipeline === pipeline && (status === undefined || l.status === status);

describe("sluice serve: the scheduler", () => {
  it("retries a failed scheduled run, runs its `after` dependent, refuses a manual run naming the running run", async () => {
    const dir = projectDir(yaml(gate.url), "sluice-serve-");
    writeFileSync(join(dir, "gated.jsonl"), '{"id":1}\n{"id":2}\n');
    const serve = startServe(dir);
    try {
      // ticks: the first scheduled run fails (no input yet); the file appears before the retry.
      const failed = await serve.waitFor("a failed ticks run", ended("ticks", "failed"));
      expect(failed.msg).toMatch(/in\/ticks\.csv.*does not exist/);
      mkdirSync(join(dir, "in"));
      writeFileSync(join(dir, "in", "ticks.csv"), "id\n1\n2\n3\n");
      await serve.waitFor("an after_ticks run", ended("after_ticks", "succeeded"));

      // gated: its scheduled run waits on the API; a manual run meanwhile is refused.
      await waitUntil("the gated run's request", () => gate.requests > 0);
      const lock = JSON.parse(readFileSync(join(dir, "data", "locks", "gated.lock"), "utf8")) as {
        run_id: string;
        started_at: string;
      };
      const manual = await runCli(["run", "gated"], { cwd: dir });
      expect(manual.code).not.toBe(0);
      expect(manual.stderr).toContain(
        `pipeline \`gated\` is already running: run ${lock.run_id} (serve, schedule, pid `,
      );
      expect(manual.stderr).toContain(`started ${lock.started_at})`);
      gate.open();
      const done = await serve.waitFor("the gated run's end", ended("gated"));
      expect(done).toMatchObject({ run_id: lock.run_id, status: "succeeded" });

      expect(await serve.stop("SIGTERM")).toBe(0);
      expect(serve.lines().at(-1)?.msg).toBe("sluice serve: stopped");
    } finally {
      await serve.stop("SIGKILL");
    }
    // The order of ticks' and after_ticks' first events: failed, retried, succeeded, then the dependent.
    const story = serve
      .lines()
      .filter((l) => (l.pipeline === "ticks" || l.pipeline === "after_ticks") && l.event?.startsWith("run-"))
      .map((l) => `${l.pipeline} ${l.event} ${l.trigger ?? l.status}`);
    expect(story.slice(0, 6)).toEqual([
      "ticks run-started schedule",
      "ticks run-ended failed",
      "ticks run-started retry",
      "ticks run-ended succeeded",
      "after_ticks run-started after",
      expect.stringMatching(/^(after_ticks run-ended succeeded|ticks run-started schedule)$/),
    ]);
    // A scheduled tick never started a run while ticks' own run or retry was in progress.
    expect(story.filter((s) => s === "ticks run-started retry")).toHaveLength(1);
  });

  it("reports schedules missed while no server ran and catches up once with catch_up: true", async () => {
    const dir = projectDir(
      `version: 1
data_dir: ./data
pipelines:
  hourly:
    source: { type: generate, dataset: behavioral_events, rows: 5 }
    schedule: "0 * * * *"
    timezone: UTC
    catch_up: true
    sinks:
      - { type: parquet, path: lake/hourly }
`,
      "sluice-serve-missed-",
    );
    // The last fire the state knows: 5 hours and 30 minutes before the top of this hour... 5 or 6 missed.
    const lastFire = new Date(Date.now() - 5.5 * 3600_000);
    mkdirSync(join(dir, "data", "serve"), { recursive: true });
    writeFileSync(
      join(dir, "data", "serve", "schedule-state.json"),
      JSON.stringify({ hourly: { last_fire: lastFire.toISOString() } }),
    );
    const serve = startServe(dir);
    try {
      const warning = await serve.waitFor("the missed warning", (l) => /scheduled run\(s\) missed/.test(l.msg));
      expect(warning.msg).toMatch(/^pipeline hourly: [56] scheduled run\(s\) missed while no server ran .*catching up/);
      const started = await serve.waitFor("the catch-up run", (l) => l.event === "run-started");
      expect(started.trigger).toBe("catch-up");
      await serve.waitFor("the catch-up run's end", ended("hourly", "succeeded"));
      expect(await serve.stop("SIGTERM")).toBe(0);
    } finally {
      await serve.stop("SIGKILL");
    }
    const state = JSON.parse(readFileSync(join(dir, "data", "serve", "schedule-state.json"), "utf8")) as Record<
      string,
      { last_fire: string }
    >;
    expect(new Date(state.hourly!.last_fire).getUTCMinutes()).toBe(0);
  });

  it("refuses a config whose `after` forms a cycle, naming the config, the line and the cycle", async () => {
    const dir = projectDir(`version: 1
data_dir: ./data
pipelines:
  a:
    source: { type: generate, dataset: behavioral_events, rows: 5 }
    after: [b]
    sinks: [{ type: parquet, path: lake/a }]
  b:
    source: { type: generate, dataset: behavioral_events, rows: 5 }
    after: [a]
    sinks: [{ type: parquet, path: lake/b }]
`);
    // Refused when the config is loaded: by `sluice serve` before anything runs, and by `sluice check`.
    for (const args of [["serve", "--no-http"], ["check"]]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/sluice\.yaml:6:12: `after` forms a cycle: a -> b -> a/);
    }
  });
});

async function waitUntil(what: string, done: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
