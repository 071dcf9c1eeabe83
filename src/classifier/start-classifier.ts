import { closeSync, openSync, writeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { SluiceError } from "../errors.js";
import { classifyRecord } from "./classify-record.js";
import { FaultInjector, type FaultSettings, type RequestFault, requestRandom } from "./fault-injector.js";

export interface ClassifierOptions extends Partial<FaultSettings> {
  /** 0 (the default) takes any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The record field echoed in every answer item to match it to its record; default `transaction_id`. */
  key?: string;
  /** Appends one JSON line per `POST /classify` request: {time, seq, items, answered, malformed, status, fault, latency_ms}. */
  logFile?: string;
}

export interface RunningClassifier {
  /** `http://HOST:PORT` (no trailing slash). */
  readonly url: string;
  /** The seed the faults are drawn from (the given one, else a random one). */
  readonly seed: number;
  /** How many `POST /classify` requests arrived so far. */
  requests(): number;
  /** Stops accepting, lets requests in flight finish, closes the log. */
  close(): Promise<void>;
}

/** One line of the request log. */
export interface ClassifierLogLine {
  time: string;
  seq: number;
  items: number;
  answered: number;
  malformed: number;
  status: number;
  fault: "error" | "outage" | null;
  latency_ms: number;
}

interface RequestNote {
  seq: number;
  items: number;
  answered: number;
  malformed: number;
  fault: ClassifierLogLine["fault"];
}

/**
 * Starts the reference classification service of scenario S2 (see `sluice classifier --help`):
 * `POST /classify` takes a JSON array of records and answers `[{<key>, category, confidence}]` in the same
 * order; `GET /health` answers 200 (never faulted). Faults per {@link FaultSettings}.
 */
export async function startClassifier(options: ClassifierOptions = {}): Promise<RunningClassifier> {
  const key = options.key ?? "transaction_id";
  const settings: FaultSettings = {
    latencyMs: options.latencyMs ?? [0, 0],
    errorRate: options.errorRate ?? 0,
    malformedRate: options.malformedRate ?? 0,
    retryAfterS: options.retryAfterS ?? 1,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    ...(options.outage ? { outage: options.outage } : {}),
  };
  const logFd = options.logFile ? openSync(options.logFile, "a") : undefined;
  const notes = new WeakMap<FastifyRequest, RequestNote>();
  let seq = 0;
  let faults = new FaultInjector(settings);

  const app = Fastify({
    logger: false,
    bodyLimit: 256 * 1024 * 1024,
    forceCloseConnections: "idle",
    // Plain JSON.parse: the bodies are only read, never merged into objects, so prototype keys are harmless.
    onProtoPoisoning: "ignore",
    onConstructorPoisoning: "ignore",
  });

  app.get("/health", async () => ({ status: "ok" }));

  app.post("/classify", async (request: FastifyRequest, reply: FastifyReply) => {
    const n = ++seq;
    const note: RequestNote = { seq: n, items: 0, answered: 0, malformed: 0, fault: null };
    notes.set(request, note);
    const body = request.body;
    if (!Array.isArray(body)) {
      return reply.code(400).send({ error: "the body must be a JSON array of records" });
    }
    note.items = body.length;
    const draw = requestRandom(settings.seed, n);
    const { fault, delayMs } = faults.requestFault(draw);
    if (delayMs > 0) await sleep(delayMs);
    if (fault.kind !== "none") return sendFault(reply, note, fault);
    const answers = body.map((record: unknown) => answer(record, key));
    const { items, malformed } = faults.malform(answers, key, draw);
    note.answered = items.length;
    note.malformed = malformed;
    return reply.code(200).send(items);
  });

  app.addHook("onResponse", async (request, reply) => {
    const note = notes.get(request);
    if (logFd === undefined || !note) return;
    const line: ClassifierLogLine = {
      time: new Date().toISOString(),
      seq: note.seq,
      items: note.items,
      answered: note.answered,
      malformed: note.malformed,
      status: reply.statusCode,
      fault: note.fault,
      latency_ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    writeSync(logFd, `${JSON.stringify(line)}\n`);
  });

  const host = options.host ?? "127.0.0.1";
  try {
    await app.listen({ port: options.port ?? 0, host });
  } catch (err) {
    if (logFd !== undefined) closeSync(logFd);
    const code = (err as NodeJS.ErrnoException).code;
    throw new SluiceError(`classifier: cannot listen on ${host}:${options.port ?? 0}: ${(err as Error).message}`, {
      component: "classifier",
      stage: "listen",
      hint: code === "EADDRINUSE" ? "another process holds the port: pick another with --port" : undefined,
      exitCode: code === "EADDRINUSE" || code === "EADDRNOTAVAIL" ? 2 : 1,
      cause: err,
    });
  }
  faults = new FaultInjector(settings); // the outage window counts from the moment it listens
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 0);
  const shownHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}`,
    seed: settings.seed,
    requests: () => seq,
    close() {
      closing ??= app.close().finally(() => {
        if (logFd !== undefined) closeSync(logFd);
      });
      return closing;
    },
  };
}

function sendFault(reply: FastifyReply, note: RequestNote, fault: Exclude<RequestFault, { kind: "none" }>) {
  if (fault.kind === "outage") {
    note.fault = "outage";
    return reply.code(503).send({ error: "service unavailable (injected outage)" });
  }
  note.fault = "error";
  if (fault.retryAfterS !== undefined) reply.header("retry-after", String(fault.retryAfterS));
  const text = fault.status === 429 ? "too many requests" : fault.status === 503 ? "unavailable" : "internal error";
  return reply.code(fault.status).send({ error: `${text} (injected)` });
}

/** The good answer for one record; a record that is not an object gets key null and `other`. */
function answer(record: unknown, key: string): Record<string, unknown> {
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    return { [key]: null, category: "other", confidence: 0 };
  }
  const fields = record as Record<string, unknown>;
  const { category, confidence } = classifyRecord(fields);
  return { [key]: fields[key] ?? null, category, confidence };
}
