#!/usr/bin/env node
// Runs the shared layer check (../shared/tools/check-layers.mjs: import directions, no computed imports
// in components, files of at most 400 lines) when the shared folder sits beside the repository, as in
// CI; a clone without it prints a skip line and passes. Uses only Node built-ins.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tool = resolve(root, "../shared/tools/check-layers.mjs");
if (!existsSync(tool)) {
  process.stdout.write(`layers: skipped (${tool} not found; CI runs it)\n`);
  process.exit(0);
}
const run = spawnSync(process.execPath, [tool, ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
