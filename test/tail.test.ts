import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLI, projectDir, runCli } from "./support/cli.js";
import { skipMessage } from "./support/server-process.js";
import { type StreamFixture, streamFixture } from "./support/stream-broker.js";

// `sluice tail` with the real CLI: a `sluice stream` worker fed by `sluice produce` on a private (or the
// machine's) Redis, and tails that print only matching rows, PII masked as in the lake, with a verdict.

function yaml(source: string): string {
  return `version: 1
data_dir: ./data
pipelines:
  tx:
    source: ${source}
    validation: quarantine
    transforms:
      - { type: pii, columns: { account_id: mask } }
    contract:
      extra_columns: keep
      columns:
        transaction_id: { type: string, required: true }
        account_id: { type: string, required: true }
        amount: { type: number, required: true, min: 20 }
        currency: { type: string }
    sinks:
      - { type: parquet, path: lake/tx, layout: partitioned, format: delta, partition_by: [currency] }
  files:
    source: { type: file, path: in.jsonl }
    sinks:
      - { type: parquet, path: lake/files }
`;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function start(args: string[], cwd: string): Running {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const running: Running = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((done) => child.once("exit", (code) => done(code))),
  };
  child.stdout!.on("data", (d: Buffer) => {
    running.stdout += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    running.stderr += d.toString();
  });
  return running;
}

/** Resolves once `text` appears on the process's stderr; fails if it exits first or after 60 s. */
async function saw(p: Running, text: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (p.stderr.includes(text)) return;
    if (p.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never saw ${JSON.stringify(text)}: ${p.stderr}`);
}

/** Waits for the process to exit, 60 s at most. */
async function exitOf(p: Running): Promise<number | null> {
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000));
  const code = await Promise.race([p.exited, timeout]);
  if (code === "timeout") throw new Error(`still running after 60 s; stdout ${p.stdout}; stderr ${p.stderr}`);
  return code;
}

describe("sluice tail", () => {
  let fx: StreamFixture | undefined;
  beforeEach(async () => {
    fx = await streamFixture("redis");
    if (!fx) console.warn(skipMessage("redis"));
  });
  afterEach(async () => fx?.close());

  it("prints only matching rows of a running stream, PII masked as in the lake, with their verdict", async (t) => {
    if (!fx) return t.skip();
    const source = fx.source(", max_rows: 200, max_wait_ms: 100");
    const dir = projectDir(yaml(source));
    const [, url, key] = /url: "(redis:\/\/[^"]+)", stream: (\S+),/.exec(source)!;
    const stream = start(["stream", "tx"], dir);
    await saw(stream, "streaming ");
    const where = "(amount > 100 AND currency = 'USD') OR _verdict = 'quarantined'";
    const tail = start(["tail", "tx", "--where", where, "--limit", "5", "--json"], dir);
    await saw(tail, "tailing tx");
    const produce = start(
      ["produce", "transactions", "--to", `${url}/${key}`, "--rate", "1000/s", "--duration", "60"],
      dir,
    );

    expect(await exitOf(tail), tail.stderr).toBe(0);
    const rows = tail.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(5);
    for (const r of rows) {
      expect(["valid", "quarantined"]).toContain(r._verdict);
      // Masked as the pii step writes it: first and last character ("acct_0000042" -> "a***2").
      expect(r.account_id).toMatch(/^a\*\*\*\d$/);
      expect(String(r._source_pos)).toMatch(/#\d+-\d+$/);
      if (r._verdict === "valid") {
        expect(r._reason).toBeNull();
        expect(r.amount as number).toBeGreaterThan(100);
        expect(r.currency).toBe("USD");
      } else {
        expect(String(r._reason)).toContain("amount");
        expect(r.amount as number).toBeLessThan(20);
      }
    }
    // Its request and folder are gone.
    expect(readdirSync(join(dir, "data", "tail", "tx"))).toEqual([]);

    // A predicate naming no column of the batch: the worker reports it, the tail exits 2, the stream goes on.
    const bad = start(["tail", "tx", "--where", "no_such_column > 1"], dir);
    expect(await exitOf(bad)).toBe(2);
    expect(bad.stderr).toContain("no_such_column");
    expect(stream.child.exitCode).toBeNull();

    // Readable lines without --json: verdict first, then the values.
    const readable = start(["tail", "tx", "--limit", "2"], dir);
    expect(await exitOf(readable), readable.stderr).toBe(0);
    const lines = readable.stdout.split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^(valid|quarantined)\b.*account_id=a\*\*\*\d/);

    produce.child.kill("SIGTERM");
    await exitOf(produce);
    stream.child.kill("SIGTERM");
    expect(await exitOf(stream)).toBe(0);
    expect(existsSync(join(dir, "data", "tail", "tx"))).toBe(true);
    expect(readdirSync(join(dir, "data", "tail", "tx"))).toEqual([]);
  });
});

describe("sluice tail: usage errors", () => {
  const dir = projectDir(yaml(`{ type: redis_stream, url: "redis://127.0.0.1:1", stream: s, group: g }`));

  it("names the pipelines when the pipeline does not exist", async () => {
    const r = await runCli(["tail", "nope"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no pipeline named `nope`");
    expect(r.stderr).toContain("tx, files");
  });

  it("refuses a pipeline that is not a stream", async () => {
    const r = await runCli(["tail", "files"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not a stream");
  });

  it("refuses a predicate that reaches outside the batch before starting", async () => {
    const r = await runCli(["tail", "tx", "--where", "getvariable('x') = 1"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("may not call getvariable()");
    expect(existsSync(join(dir, "data", "tail"))).toBe(false);
  });

  it("documents itself", async () => {
    const r = await runCli(["tail", "--help"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--where <sql>");
    expect(r.stdout).toContain("_verdict");
  });
});
