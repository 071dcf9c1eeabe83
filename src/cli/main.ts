#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

/**
 * One module per command, loaded only when that command runs: start-up time counts in every
 * invocation (`sluice generate` has a 1.5 s budget for 1M rows, process start included).
 * `sluice --help` and unknown commands load them all, so help and suggestions stay complete.
 */
const COMMANDS: Readonly<Record<string, string>> = {
  run: "./commands/run.js",
  stream: "./commands/stream.js",
  tail: "./commands/tail.js",
  generate: "./commands/generate.js",
  produce: "./commands/produce.js",
  query: "./commands/query.js",
  runs: "./commands/runs.js",
  quarantine: "./commands/quarantine.js",
  replay: "./commands/replay.js",
  deadletter: "./commands/deadletter.js",
  check: "./commands/check.js",
  compact: "./commands/compact.js",
  vacuum: "./commands/vacuum.js",
  expire: "./commands/expire.js",
  schema: "./commands/schema.js",
  classifier: "./commands/classifier.js",
  serve: "./commands/serve.js",
  alerts: "./commands/alerts.js",
};

const program = new Command()
  .name("sluice")
  .description("Move event data from PostgreSQL, brokers and files into a contract-checked Parquet lake and DuckDB.")
  .version(pkg.version)
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

const invoked = process.argv[2];
const modules = invoked !== undefined && invoked in COMMANDS ? [COMMANDS[invoked]!] : Object.values(COMMANDS);
for (const path of modules) {
  const { register } = (await import(path)) as { register: (program: Command) => void };
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
