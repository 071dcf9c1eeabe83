// `npm run quickstart`: runs the quickstart pipeline on embedded defaults (no server) with the
// built CLI, then shows the run summary and the answer of a sample query over the warehouse.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli", "main.js");
const config = join(root, "examples", "quickstart", "sluice.yaml");

function sluice(args: string[]): void {
  process.stdout.write(`\n$ sluice ${args.join(" ")}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: "inherit", cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

sluice(["run", "-c", config]);
sluice([
  "query",
  "-c",
  config,
  `SELECT "experimentPhase", count(*) AS events, count(DISTINCT "userId") AS users, round(avg(score), 3) AS mean_score
   FROM research.behavioral_events GROUP BY ALL ORDER BY 1 NULLS LAST`,
]);
