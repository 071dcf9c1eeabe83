#!/usr/bin/env node
// Runs `npm install` when node_modules is missing or older than package-lock.json, so that each
// README command works on a fresh clone on its own. Uses only Node built-ins.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const marker = "node_modules/.package-lock.json";
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync("package-lock.json").mtimeMs;
if (stale) {
  process.stderr.write("installing dependencies (npm install) ...\n");
  execSync("npm install --no-audit --no-fund", { stdio: ["ignore", "inherit", "inherit"] });
}
