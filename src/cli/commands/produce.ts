import { randomBytes, randomInt } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { DATASET_NAMES } from "../../sources/generate/datasets.js";
import { Progress } from "../../util/progress.js";
import { action } from "../action.js";
import type { ProducedMessage, ProduceSettings, ProduceSummary } from "../produce/produce-loop.js";

interface ProduceFlags {
  to: string;
  rate: string;
  jitterMs: string;
  duration?: string;
  count?: string;
  dupRate: string;
  outOfOrderRate: string;
  seed?: string;
  log?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("produce")
    .description("Simulate a producer: publish a dataset's records to a NATS or Redis stream at a given rate.")
    .argument("<dataset>", DATASET_NAMES.join(" | "))
    .requiredOption("--to <url>", "nats://HOST[:PORT]/SUBJECT[?stream=NAME] | redis://HOST[:PORT]/STREAM_KEY[?db=N]")
    .requiredOption("--rate <n/s>", "messages per second, duplicates included (N, N/s, N/m or N/h)")
    .option("--jitter-ms <n>", "random extra pause of up to N ms before each batch (bursty arrivals)", "0")
    .option("--duration <s>", "stop after this long (seconds, or 30s, 5m, 1h)")
    .option("--count <n>", "stop after this many messages (duplicates included)")
    .option("--dup-rate <x>", "share of messages re-sending a recent record (same payload and key), 0..1", "0")
    .option("--out-of-order-rate <x>", "share of records swapped with the record after them, 0..1", "0")
    .option("--seed <n>", "makes the records and the decisions reproducible (default: random, reported)")
    .option("--log <file>", "write one JSON line per published message: {seq, key, dup}")
    .option("--json", "print the summary as JSON on stdout")
    .addHelpText(
      "after",
      `
Runs until --count, --duration or SIGINT/SIGTERM (the batch in flight is finished; exit 0). Records come
from the generator (as sluice generate writes them as JSONL, timestamps near the wall clock); several
producers can run at once (give them different --seed values, or none: each picks its own).
NATS: the JetStream stream capturing SUBJECT is used, else one is created, named after the subject with
non-word characters as _ (or ?stream=NAME); message ids are <producer>:<seq>. Redis: XADD key * data <json>.

Examples:
  sluice produce transactions --to nats://127.0.0.1:4222/payments.tx --rate 2000/s --duration 60 --dup-rate 0.05
  sluice produce pubsub --to redis://127.0.0.1:6379/messages --rate 500/s --jitter-ms 200 --out-of-order-rate 0.1`,
    )
    .action(action(async (dataset: string, flags: ProduceFlags) => produce(dataset, flags)));
}

async function produce(dataset: string, flags: ProduceFlags): Promise<number> {
  if (!DATASET_NAMES.includes(dataset)) {
    throw new ConfigError(`unknown dataset \`${dataset}\``, `one of: ${DATASET_NAMES.join(", ")}`);
  }
  const settings = settingsOf(flags);
  const [{ Engine }, { openPublisher }, { RecordPool }, { runProducer }] = await Promise.all([
    import("../../engine/engine.js"),
    import("../../connectors/publisher.js"),
    import("../produce/record-pool.js"),
    import("../produce/produce-loop.js"),
  ]);
  const publisher = await openPublisher(flags.to, "produce");
  const engine = await Engine.open({ threads: 2 });
  const log = flags.log ? createWriteStream(flags.log, { flags: "w" }) : undefined;
  const progress = new Progress(process.stderr.isTTY === true && !flags.json);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let summary: ProduceSummary;
  try {
    const pool = new RecordPool(engine, dataset, settings.seed, settings.rate);
    progress.begin(`produce ${dataset} -> ${publisher.display}`);
    summary = await runProducer(settings, {
      publisher,
      stop: stop.signal,
      nextRecords: (rows) => pool.next(rows),
      onPublished: (messages, total) => {
        log?.write(logLines(messages));
        progress.update(total);
      },
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    progress.done();
    await closeLog(log);
    await publisher.close();
    engine.close();
  }
  report(summary, dataset, publisher.display, settings, flags.json === true);
  return 0;
}

function report(s: ProduceSummary, dataset: string, target: string, settings: ProduceSettings, json: boolean): void {
  const seconds = Number(s.seconds.toFixed(3));
  if (json) {
    const { published, duplicates, out_of_order } = s;
    const extra = { dataset, to: target, seed: settings.seed, rate: settings.rate };
    process.stdout.write(`${JSON.stringify({ published, duplicates, out_of_order, seconds, ...extra })}\n`);
    return;
  }
  const perSecond = s.seconds > 0 ? Math.round(s.published / s.seconds) : s.published;
  process.stdout.write(
    `produced ${s.published.toLocaleString("en-US")} ${dataset} messages -> ${target} in ${seconds.toFixed(2)} s ` +
      `(${perSecond.toLocaleString("en-US")}/s, ${s.duplicates} duplicates, ${s.out_of_order} out of order, seed ${settings.seed})\n`,
  );
}

function logLines(messages: readonly ProducedMessage[]): string {
  let text = "";
  for (const m of messages) text += `${JSON.stringify({ seq: m.seq, key: m.key, dup: m.dup })}\n`;
  return text;
}

function closeLog(log: WriteStream | undefined): Promise<void> {
  if (!log) return Promise.resolve();
  return new Promise((done, fail) => {
    log.once("error", fail);
    log.end(() => done());
  });
}

/** The flags as settings; ConfigError (exit 2) naming the flag for a bad value. */
export function settingsOf(flags: ProduceFlags): ProduceSettings {
  const count = flags.count === undefined ? undefined : wholeNumber("--count", flags.count);
  const durationS = flags.duration === undefined ? undefined : duration(flags.duration);
  return {
    rate: rate(flags.rate),
    jitterMs: nonNegative("--jitter-ms", flags.jitterMs),
    ...(count !== undefined ? { count } : {}),
    ...(durationS !== undefined ? { durationS } : {}),
    dupRate: share("--dup-rate", flags.dupRate),
    outOfOrderRate: share("--out-of-order-rate", flags.outOfOrderRate),
    seed: flags.seed === undefined ? randomInt(1, 2 ** 31) : wholeNumber("--seed", flags.seed),
    producerId: randomBytes(6).toString("hex"),
  };
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { "": 1, s: 1, sec: 1, m: 60, min: 60, h: 3600 };

/** `1000`, `1000/s`, `600/m`, `36000/h` -> messages per second (> 0). */
function rate(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min|h))?\s*$/i.exec(value);
  const n = m ? Number(m[1]) / UNIT_SECONDS[(m[2] ?? "").toLowerCase()]! : Number.NaN;
  if (!(n > 0)) throw new ConfigError(`--rate ${value}: expected messages per time unit > 0`, "e.g. --rate 1000/s");
  return n;
}

/** `90`, `90s`, `5m`, `1h` -> seconds (> 0). */
function duration(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/i.exec(value);
  const n = m ? Number(m[1]) * UNIT_SECONDS[(m[2] ?? "").toLowerCase()]! : Number.NaN;
  if (!(n > 0)) throw new ConfigError(`--duration ${value}: expected seconds > 0`, "e.g. --duration 60 or 5m");
  return n;
}

function wholeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(`${flag} ${value}: expected a whole number`);
  return n;
}

function nonNegative(flag: string, value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0)) throw new ConfigError(`${flag} ${value}: expected a number >= 0`);
  return n;
}

function share(flag: string, value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0 && n <= 1)) {
    throw new ConfigError(`${flag} ${value}: expected a share between 0 and 1`, `e.g. ${flag} 0.05`);
  }
  return n;
}
