#!/usr/bin/env node
// `node bench/lib/timed-produce.mjs URL RATE DURATION_S LOG_FILE [SEED]`: what `sluice produce behavioral_events
// --to URL --rate RATE/s --duration DURATION_S` does (the same loop, record pool and broker publisher, from
// dist/), except that the log has one line per publish batch, `FIRST_SEQ N SENT_MS ACKED_MS`: the wall
// time the batch was handed to the publisher (the messages' send time) and the time the broker had stored
// all of it. `sluice produce --log` has no times (and no broker positions), which the latency case needs.
// Prints the produce summary as JSON on stdout.
import { createWriteStream } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const [{ Engine }, { openPublisher }, { RecordPool }, { runProducer }, { settingsOf }] = await Promise.all([
  load("engine/engine.js"),
  load("connectors/publisher.js"),
  load("cli/produce/record-pool.js"),
  load("cli/produce/produce-loop.js"),
  load("cli/commands/produce.js"),
]);

const [url, rate, duration, logFile, seed] = process.argv.slice(2);
const settings = settingsOf({
  to: url,
  rate,
  jitterMs: "0",
  duration,
  dupRate: "0",
  outOfOrderRate: "0",
  ...(seed ? { seed } : {}),
});
const publisher = await openPublisher(url, "produce");
const engine = await Engine.open({ threads: 2 });
const log = createWriteStream(logFile, { flags: "w" });
let next = 1;
const timed = {
  display: publisher.display,
  async publishBatch(messages) {
    const first = next;
    next += messages.length;
    const sent = Date.now();
    const stored = await publisher.publishBatch(messages);
    log.write(`${first} ${messages.length} ${sent} ${Date.now()}\n`);
    return stored;
  },
  close: () => publisher.close(),
};
const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());
process.on("SIGINT", () => stop.abort());
let summary;
try {
  const pool = new RecordPool(engine, "behavioral_events", settings.seed, settings.rate);
  summary = await runProducer(settings, {
    publisher: timed,
    stop: stop.signal,
    nextRecords: (rows) => pool.next(rows),
    onPublished: () => undefined,
  });
} finally {
  await new Promise((r) => log.end(r));
  await publisher.close();
  engine.close();
}
process.stdout.write(`${JSON.stringify({ ...summary, seed: settings.seed, rate: settings.rate })}\n`);
