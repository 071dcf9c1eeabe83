import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import type { SinkDedup } from "../../sinks/sink.js";
import { runStream } from "../../stream/run-stream.js";
import { createLogger } from "../../util/logger.js";
import { action, collect } from "../action.js";
import { loadFromFlags } from "../load.js";
import { addSinkDedup, formatSinkDedup } from "../summary.js";

interface StreamFlags {
  config?: string;
  set?: string[];
  json?: boolean;
  maxBatches?: string;
}

export function register(program: Command): void {
  program
    .command("stream")
    .description(
      "Run a streaming pipeline (nats, redis_stream or pubsub source) in micro-batches until SIGINT/SIGTERM.",
    )
    .argument("<pipeline>", "pipeline name from the config")
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--set <key.path=value>", "override a config value (repeatable)", collect)
    .option("--json", "print the stream's summary as JSON on stdout when it stops")
    .option("--max-batches <n>", "stop after N micro-batches")
    .addHelpText(
      "after",
      "\nEach micro-batch is one run (its record in `sluice runs`). SIGINT or SIGTERM finishes the\ncurrent micro-batch, commits, acknowledges and exits 0.\n\nStart it several times to share the work: a Redis group shares its entries among any number of\nworkers; a NATS stream with `partitions: N` among up to N (one more waits as a standby). A worker\ntakes over what a stopped worker left.\n\nExample:\n  sluice stream transactions_stream -c sluice.yaml",
    )
    .action(
      action(async (pipeline: string, flags: StreamFlags) => {
        const loaded = await loadFromFlags(flags);
        if (!loaded.config.pipelines[pipeline]) {
          throw new ConfigError(
            `no pipeline named \`${pipeline}\` in ${loaded.path}`,
            `pipelines defined: ${Object.keys(loaded.config.pipelines).join(", ")}`,
          );
        }
        const stopper = new AbortController();
        const stop = () => stopper.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        const log = createLogger();
        const maxBatches = flags.maxBatches === undefined ? undefined : Number(flags.maxBatches);
        const dedup = new Map<string, SinkDedup>();
        const summary = await runStream(loaded, pipeline, {
          stop: stopper.signal,
          log,
          ...(maxBatches !== undefined && Number.isInteger(maxBatches) && maxBatches > 0 ? { maxBatches } : {}),
          onBatch: (r) => {
            log.info(
              `micro-batch ${r.batch_id ?? r.run_id}: ${r.status}, ${r.rows.written} written, ${r.rows.quarantined} quarantined${r.rows.dead_lettered !== undefined ? `, ${r.rows.dead_lettered} dead-lettered` : ""}`,
            );
            for (const o of r.outputs)
              if (o.dedup && o.dedup.strategy !== "none") log.info(`  ${o.sink}: dedup ${formatSinkDedup(o.dedup)}`);
            addSinkDedup(dedup, r);
          },
        });
        if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else {
          process.stdout.write(
            `${pipeline}${summary.slot ? ` (slot ${summary.slot})` : ""}: ${summary.batches} micro-batches (${summary.failed} failed), ${summary.rows.written} rows written, ${summary.rows.quarantined} quarantined${summary.rows.dead_lettered !== undefined ? `, ${summary.rows.dead_lettered} dead-lettered` : ""}; position ${summary.position ?? "(none)"}${summary.adopted?.length ? `; took over slot(s) ${summary.adopted.join(", ")}` : ""}\n`,
          );
          for (const [sink, d] of dedup) process.stdout.write(`  ${sink}: dedup ${formatSinkDedup(d)}\n`);
        }
        return 0;
      }),
    );
}
