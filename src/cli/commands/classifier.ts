import type { Command } from "commander";
import { CATEGORIES } from "../../classifier/classify-record.js";
import { parseLatency } from "../../classifier/fault-injector.js";
import type { ClassifierOptions } from "../../classifier/start-classifier.js";
import { ConfigError } from "../../errors.js";
import { action } from "../action.js";
import { plural } from "../plural.js";

interface ClassifierFlags {
  port: string;
  host: string;
  key: string;
  latencyMs?: string;
  errorRate?: string;
  malformedRate?: string;
  outageAfter?: string;
  outageFor?: string;
  retryAfter: string;
  seed?: string;
  log?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("classifier")
    .description("Run the reference transaction classification service of scenario S2 (with injectable faults).")
    .option("--port <n>", "port to listen on (0: any free port)", "8900")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--key <field>", "the record field echoed in each answer item", "transaction_id")
    .option("--latency-ms <n|n-m>", "delay every request by N ms, or uniformly N to M ms")
    .option("--error-rate <x>", "share of requests failing as a whole: 500, 503, or 429 with Retry-After, 0..1")
    .option("--malformed-rate <x>", "share of answer items malformed or left out, 0..1")
    .option("--outage-after <s>", "seconds after start when the outage begins (with --outage-for)")
    .option("--outage-for <s>", "seconds the outage lasts: every POST /classify gets 503 (starts at 0 by default)")
    .option("--retry-after <s>", "Retry-After of an injected 429, in seconds", "1")
    .option("--seed <n>", "makes the injected faults reproducible (default: random, printed)")
    .option("--log <file>", "append one JSON line per POST /classify: time, seq, items, status, fault, latency_ms")
    .option("--json", 'print {"url", "seed"} as one JSON line on start')
    .addHelpText(
      "after",
      `
POST /classify with a JSON array of records (card transactions: description, merchant and mcc are read)
answers 200 with [{transaction_id, category, confidence}], one per record in the same order;
category is one of ${CATEGORIES.join(", ")}, confidence in [0, 1];
the same record always gets the same answer. GET /health answers 200 and is never faulted nor logged.

Faults, drawn per request from --seed and the request's arrival number (the same seed gives the same faults
to a client sending one request at a time): --latency-ms delays a request before it answers; --error-rate
fails a whole request (500, 503, or 429 with Retry-After); --malformed-rate breaks single items (category
not in the list, confidence outside [0, 1] or a string, the key missing, or the item left out). During the
outage window every POST /classify gets 503 at once (no Retry-After, no latency), so the request log shows
what a client sent while the service was down. Runs until SIGINT/SIGTERM.

Examples:
  sluice classifier --port 8900
  sluice classifier --port 8900 --error-rate 0.2 --malformed-rate 0.05 --latency-ms 5-50 --seed 7 --log classifier.log
  sluice classifier --port 0 --outage-after 10 --outage-for 30 --json`,
    )
    .action(action(async (flags: ClassifierFlags) => serveClassifier(flags)));
}

async function serveClassifier(flags: ClassifierFlags): Promise<number> {
  const options = optionsOf(flags);
  const { startClassifier } = await import("../../classifier/start-classifier.js");
  const running = await startClassifier(options);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ url: running.url, seed: running.seed })}\n`);
  } else {
    process.stdout.write(
      `classifier listening on ${running.url} (POST /classify, GET /health; seed ${running.seed})\n`,
    );
  }
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await running.close();
  process.stderr.write(`classifier stopped after ${plural(running.requests(), "request")}\n`);
  return 0;
}

function optionsOf(flags: ClassifierFlags): ClassifierOptions {
  const port = integer(flags.port, "--port");
  if (port > 65535) throw new ConfigError(`--port must be at most 65535, got ${port}`);
  const options: ClassifierOptions = {
    port,
    host: flags.host,
    key: flags.key,
    retryAfterS: integer(flags.retryAfter, "--retry-after"),
    errorRate: rate(flags.errorRate, "--error-rate"),
    malformedRate: rate(flags.malformedRate, "--malformed-rate"),
  };
  if (flags.key.trim() === "") throw new ConfigError("--key must name a field");
  if (flags.latencyMs !== undefined) {
    const latency = parseLatency(flags.latencyMs);
    if (!latency) throw new ConfigError(`--latency-ms must be N or N-M (ms, M >= N), got \`${flags.latencyMs}\``);
    options.latencyMs = latency;
  }
  if (flags.seed !== undefined) options.seed = integer(flags.seed, "--seed");
  if (flags.log !== undefined) options.logFile = flags.log;
  if (flags.outageAfter !== undefined && flags.outageFor === undefined) {
    throw new ConfigError("--outage-after needs --outage-for", "e.g. --outage-after 10 --outage-for 30");
  }
  if (flags.outageFor !== undefined) {
    options.outage = {
      afterS: seconds(flags.outageAfter ?? "0", "--outage-after"),
      forS: seconds(flags.outageFor, "--outage-for"),
    };
  }
  return options;
}

function integer(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw new ConfigError(`${flag} must be a whole number >= 0, got \`${text}\``);
  return Number(text);
}

function seconds(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new ConfigError(`${flag} must be a number of seconds >= 0, got \`${text}\``);
  }
  return n;
}

function rate(text: string | undefined, flag: string): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new ConfigError(`${flag} must be a number from 0 to 1, got \`${text}\``);
  }
  return n;
}
