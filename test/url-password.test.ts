import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../src/plan/run-record.js";
import { projectDir, runCli } from "./support/cli.js";
import { type TestPostgres, testPostgres } from "./support/postgres.js";

const YAML = `version: 1
data_dir: ./data
pipelines:
  events:
    source:
      type: postgres
      url: "\${DATABASE_URL}"
      table: no_such_table
      mode: full
    validation: "off"
    retries: { attempts: 1, backoff_seconds: 0 }
    sinks:
      - { type: parquet, path: raw/events }
`;

let server: TestPostgres;

beforeAll(async () => {
  server = await testPostgres();
});
afterAll(async () => {
  await server?.stop();
});

/** Runs the failing pipeline with `url`; returns what a user sees and the run record the ledger holds. */
async function failingRun(url: string) {
  const dir = projectDir(YAML, "sluice-url-pw-");
  const cli = await runCli(["run", "--json"], { cwd: dir, env: { DATABASE_URL: url } });
  const runs = join(dir, "data", "runs", "events");
  const files = existsSync(runs) ? readdirSync(runs).filter((f) => f.endsWith(".json")) : [];
  expect(files, `no run record (exit ${cli.code}): ${cli.stderr}`).toHaveLength(1);
  const text = readFileSync(join(runs, files[0]!), "utf8");
  return { cli, text, record: JSON.parse(text) as RunRecord };
}

describe("sluice run: a URL password is never shown, however it is written", () => {
  it("masks a password with unencoded / # ? space and @ in the error, on stdout and in the run record", async () => {
    const { hostname: host, port } = new URL(server.url);
    const password = "p/a#s?s w@rd";
    const { cli, text, record } = await failingRun(`postgres://postgres:${password}@${host}:${port || 5432}/test`);
    expect(cli.code).toBe(2);
    expect(record.status).toBe("failed");
    expect(record.error!.message).toContain(`postgres://postgres:***@${host}:${port || 5432}/test`);
    expect(cli.stderr).toContain("postgres://postgres:***@");
    for (const part of [password, "p/a#s", "s?s w", "w@rd", encodeURIComponent(password)]) {
      for (const out of [cli.stdout, cli.stderr, text]) expect(out).not.toContain(part);
    }
  });

  it("keeps the database name readable when the password equals it", async () => {
    const { hostname: host, port } = new URL(server.url);
    const shown = `postgres://postgres:***@${host}:${port || 5432}/test`;
    const { cli, text, record } = await failingRun(`postgres://postgres:test@${host}:${port || 5432}/test`);
    expect(cli.code).toBe(1);
    expect(record.error!.message).toContain(shown);
    expect(text).toContain(shown);
    expect(cli.stdout).toContain(shown);
    for (const out of [cli.stdout, cli.stderr, text]) expect(out).not.toMatch(/\/\*\*\*/);
  });
});
