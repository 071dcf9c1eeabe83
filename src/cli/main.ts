#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { register as registerCheck } from "./commands/check.js";
import { register as registerGenerate } from "./commands/generate.js";
import { register as registerQuarantine } from "./commands/quarantine.js";
import { register as registerQuery } from "./commands/query.js";
import { register as registerReplay } from "./commands/replay.js";
import { register as registerRun } from "./commands/run.js";
import { register as registerRuns } from "./commands/runs.js";
import { register as registerSchema } from "./commands/schema.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command()
  .name("sluice")
  .description("Move event data from PostgreSQL, brokers and files into a contract-checked Parquet lake and DuckDB.")
  .version(pkg.version)
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

for (const register of [
  registerRun,
  registerGenerate,
  registerQuery,
  registerRuns,
  registerQuarantine,
  registerReplay,
  registerCheck,
  registerSchema,
]) {
  register(program);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; any other usage error is exit code 2.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    throw err;
  }
}
