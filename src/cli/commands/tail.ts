import type { Command } from "commander";
import { ConfigError, SluiceError } from "../../errors.js";
import { REASON_COLUMN, VERDICT_COLUMN } from "../../plan/verdict-rows.js";
import { DEFAULT_SAMPLE, MAX_SAMPLE } from "../../stream/tail-request.js";
import { tailPredicateProblem, tailSession } from "../../stream/tail-session.js";
import { safeSegment } from "../../util/confine.js";
import { action, collect } from "../action.js";
import { loadFromFlags } from "../load.js";

interface TailFlags {
  config?: string;
  set?: string[];
  where?: string;
  limit?: string;
  sample: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("tail")
    .description(
      "Show records passing through a running `sluice stream` of a pipeline, after transforms (PII as the lake holds it), with their contract verdict.",
    )
    .argument("<pipeline>", "pipeline name from the config (a nats, redis_stream or pubsub source)")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--set <key.path=value>", "override a config value (repeatable)", collect)
    .option("--where <sql>", "show only rows matching this SQL predicate (columns, _verdict, _reason)")
    .option("--limit <n>", "stop after N rows")
    .option("--sample <n>", `at most N rows per micro-batch and worker (1-${MAX_SAMPLE})`, String(DEFAULT_SAMPLE))
    .option("--json", "print one JSON object per row")
    .addHelpText(
      "after",
      `
Workers tap each micro-batch once every sink has it: the rows after the transforms, typed by the
contract, each with \`_verdict\` (valid | quarantined) and \`_reason\` (the rules a quarantined row
broke). Valid rows are shown before dedup. When more rows of a batch match than --sample, a random
sample of them is shown, so a tail never slows the stream. Runs until SIGINT or --limit rows.

Examples:
  sluice tail events
  sluice tail events --where "_verdict = 'quarantined'" --limit 20
  sluice tail events --where "amount > 100 AND country = 'DE'" --json`,
    )
    .action(
      action(async (pipeline: string, flags: TailFlags) => {
        const loaded = await loadFromFlags(flags, { readOnly: true });
        const config = loaded.config.pipelines[pipeline];
        if (!config) {
          throw new ConfigError(
            `no pipeline named \`${pipeline}\` in ${loaded.path}`,
            `pipelines defined: ${Object.keys(loaded.config.pipelines).join(", ")}`,
          );
        }
        if (!["nats", "redis_stream", "pubsub"].includes(config.source.type)) {
          throw new ConfigError(
            `pipeline ${pipeline} reads a \`${config.source.type}\` source, which is not a stream: there is nothing to tail`,
            "`sluice tail` shows the records of a running `sluice stream` (a nats, redis_stream or pubsub source); look at a batch pipeline's output with `sluice query` and `sluice quarantine`",
          );
        }
        const limit = flags.limit === undefined ? undefined : whole("--limit", flags.limit, 1, Number.MAX_SAFE_INTEGER);
        const sample = Math.min(whole("--sample", flags.sample, 1, MAX_SAMPLE), limit ?? MAX_SAMPLE);
        if (flags.where !== undefined) await checkWhere(flags.where);
        const shown = await tail(loaded.dataDir, safeSegment("pipeline", pipeline), {
          sample,
          ...(flags.where !== undefined ? { where: flags.where } : {}),
          ...(limit !== undefined ? { limit } : {}),
          json: flags.json === true,
        });
        if (!flags.json) process.stderr.write(`${shown} row(s) shown\n`);
        return 0;
      }),
    );
}

function whole(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${flag} ${value}: expected a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A predicate that does not parse or uses what a tap refuses is a usage error before anything starts. */
async function checkWhere(where: string): Promise<void> {
  const problem = await tailPredicateProblem(where);
  if (problem) {
    throw new ConfigError(
      `--where ${problem}`,
      "give one SQL condition over the pipeline's columns, `_verdict` and `_reason`, e.g. --where \"amount > 100 AND _verdict = 'valid'\"",
    );
  }
}

interface TailOptions {
  readonly where?: string;
  readonly sample: number;
  readonly limit?: number;
  readonly json: boolean;
}

/** Prints what workers write (stream/tail-session.ts) until SIGINT/SIGTERM or the limit; returns rows shown. */
async function tail(dataDir: string, pipeline: string, options: TailOptions): Promise<number> {
  const stopper = new AbortController();
  const stop = () => stopper.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  process.stderr.write(
    `tailing ${pipeline}${options.where ? ` where ${options.where}` : ""} (at most ${options.sample} rows per micro-batch); Ctrl-C to stop\n`,
  );
  let shown = 0;
  try {
    if (options.limit === 0) return 0;
    for await (const item of tailSession(dataDir, pipeline, options, stopper.signal)) {
      if ("error" in item) {
        throw new SluiceError(item.error, {
          component: "tail",
          stage: "tail",
          hint: "the predicate runs against each micro-batch's columns, `_verdict` and `_reason`",
          exitCode: 2,
        });
      }
      process.stdout.write(
        options.json ? `${item.row}\n` : `${readable(JSON.parse(item.row) as Record<string, unknown>)}\n`,
      );
      shown++;
      if (options.limit !== undefined && shown >= options.limit) break;
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  return shown;
}

/** One line per record: verdict, position, `column=value` pairs, then why it was quarantined. */
function readable(row: Record<string, unknown>): string {
  const { [VERDICT_COLUMN]: verdict, [REASON_COLUMN]: reason, _source_pos: pos, ...rest } = row;
  const values = Object.entries(rest).map(([k, v]) => `${k}=${value(v)}`);
  const why = reason ? [`<- ${String(reason)}`] : [];
  return [String(verdict ?? "?"), ...(pos === undefined ? [] : [String(pos)]), ...values, ...why].join("  ");
}

function value(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}
