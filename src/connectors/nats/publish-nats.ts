import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { SluiceError } from "../../errors.js";
import { redactSecrets } from "../../util/redact.js";
import type { BrokerPublisher, OutgoingMessage } from "../publisher.js";
import { connectNats, parseNatsUrl } from "./connect-nats.js";

/** Where a `nats://host:port/<subject>[?stream=NAME]` URL publishes. */
export interface NatsTarget {
  /** The connection URL (no path, no query). */
  readonly server: string;
  readonly subject: string;
  /** The stream named by `?stream=`, if any. */
  readonly stream?: string;
  /** `?partitions=N`: each message goes to `<subject>.<k>`, k a hash of its payload modulo N. */
  readonly partitions?: number;
  /** The stream made when none captures the subject: the subject with every non-word character as `_`. */
  readonly defaultStream: string;
  /** `nats://user:***@host:4222/subject`. */
  readonly display: string;
}

/**
 * Parses a publish URL: the path is the subject (`nats://127.0.0.1:4222/events.orders`); `?stream=NAME`
 * names the JetStream stream. Without it the stream is the one that already captures the subject, or
 * a new one named after the subject as is, non-word characters replaced by `_` (`events.orders` ->
 * `events_orders`, case kept). A usage SluiceError (exit 2) for a missing or wildcard subject.
 */
export function parseNatsTarget(url: string, component: string): NatsTarget {
  const parsed = parseNatsUrl(url, component);
  const u = new URL(url);
  const subject = decodeURIComponent(u.pathname.replace(/^\/+/, ""));
  const display = `${parsed.display}/${subject}`;
  if (subject === "" || /[\s*>]/.test(subject) || subject.split(".").some((t) => t === "")) {
    throw new SluiceError(`${redactSecrets(url)}: expected a subject to publish to in the URL's path`, {
      component,
      stage: "connect",
      hint: "e.g. nats://127.0.0.1:4222/events.orders (no wildcards), optionally ?stream=ORDERS",
      exitCode: 2,
    });
  }
  const stream = u.searchParams.get("stream") ?? undefined;
  const partitions = u.searchParams.has("partitions") ? Number(u.searchParams.get("partitions")) : undefined;
  if (partitions !== undefined && !(Number.isInteger(partitions) && partitions >= 1 && partitions <= 1024)) {
    throw new SluiceError(`${redactSecrets(url)}: ?partitions= must be a whole number from 1 to 1024`, {
      component,
      stage: "connect",
      hint: "as many as the pipeline's `partitions:` (e.g. ?partitions=4)",
      exitCode: 2,
    });
  }
  return {
    ...(partitions !== undefined && partitions > 1 ? { partitions } : {}),
    server: `nats://${u.username ? `${u.username}${u.password ? `:${u.password}` : ""}@` : ""}${parsed.servers}`,
    subject,
    ...(stream ? { stream } : {}),
    defaultStream: subject.replace(/\W/g, "_"),
    display,
  };
}

/**
 * A publisher to a JetStream subject (see parseNatsTarget for the URL). Contract: the stream exists
 * when this resolves (created as `{ name, subjects: [subject] }` when missing; a `?stream=` stream
 * that does not capture the subject gets it added); every message is published with its `id` as
 * `msgID`, so a republish within the duplicate window is stored once; batches are pipelined (every
 * publish of a batch in flight, awaited together). Errors are SluiceErrors naming the URL without
 * its password (transient for timeouts and lost connections).
 */
export async function openNatsPublisher(url: string, component: string): Promise<BrokerPublisher> {
  const target = parseNatsTarget(url, component);
  const nc = await connectNats(target.server, `sluice ${component}`, component);
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const stream = await ensureStream(jsm, target, component);
    const js = jetstream(nc, { timeout: 30_000 });
    return new NatsPublisher(js, target, stream, component, () => nc.close());
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
}

class NatsPublisher implements BrokerPublisher {
  readonly display: string;
  private closed = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly target: NatsTarget,
    stream: string,
    private readonly component: string,
    private readonly closeConnection: () => Promise<void>,
  ) {
    this.display = `${target.display} (stream ${stream})`;
  }

  async publishBatch(messages: readonly OutgoingMessage[]): Promise<number> {
    const acks = await Promise.allSettled(
      messages.map((m) =>
        this.js.publish(this.subjectOf(m.data), m.data, {
          msgID: m.id,
          ...(m.headers ? { headers: toHeaders(m.headers) } : {}),
        }),
      ),
    );
    let stored = 0;
    for (const ack of acks) {
      if (ack.status === "rejected") throw this.failure(ack.reason);
      if (!ack.value.duplicate) stored++;
    }
    return stored;
  }

  /** The subject, or with partitions `<subject>.<k>` (the same payload always to the same partition). */
  private subjectOf(data: string | Uint8Array): string {
    const { partitions, subject } = this.target;
    return partitions === undefined ? subject : `${subject}.${fnv1a(data) % partitions}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeConnection().catch(() => undefined);
  }

  private failure(err: unknown): SluiceError {
    const text = redactSecrets(err instanceof Error ? err.message : String(err));
    return new SluiceError(`cannot publish to ${this.display}: ${text}`, {
      component: this.component,
      stage: "publish",
      hint: "check that the NATS server runs with JetStream and that the stream's limits allow more messages",
      transient: /timeout|connection|disconnect|closed|503/i.test(text),
      cause: err,
    });
  }
}

/**
 * The stream the target's subject goes to, created (or given the subject) when needed. With
 * partitions the subject taken is `<subject>.*` (every partition subject).
 */
async function ensureStream(jsm: JetStreamManager, target: NatsTarget, component: string): Promise<string> {
  const subject = target.partitions === undefined ? target.subject : `${target.subject}.*`;
  const probe = target.partitions === undefined ? target.subject : `${target.subject}.0`;
  try {
    if (!target.stream) {
      const owner = await jsm.streams.find(probe).catch(() => undefined);
      if (owner) return owner;
    }
    const name = target.stream ?? target.defaultStream;
    const info = await jsm.streams.info(name).catch(() => undefined);
    if (!info) {
      await jsm.streams.add({ name, subjects: [subject] });
    } else if (!info.config.subjects?.some((s) => subjectMatches(s, probe))) {
      await jsm.streams.update(name, { subjects: [...(info.config.subjects ?? []), subject] });
    }
    return name;
  } catch (err) {
    throw new SluiceError(
      `cannot prepare the JetStream stream for ${target.display}: ${redactSecrets(err instanceof Error ? err.message : String(err))}`,
      {
        component,
        stage: "connect",
        hint: "another stream may already capture the subject: name it with ?stream=NAME, or check JetStream's limits",
        cause: err,
      },
    );
  }
}

/** NATS subject matching: `*` is one token, a final `>` one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** FNV-1a (32 bits) of the payload's bytes: a stable, cheap partition hash. */
function fnv1a(data: string | Uint8Array): number {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** NATS headers of a message; a value's line breaks become spaces (a header is one line). */
function toHeaders(values: Readonly<Record<string, string>>): ReturnType<typeof headers> {
  const h = headers();
  for (const [name, value] of Object.entries(values)) h.set(name, value.replace(/[\r\n]+/g, " "));
  return h;
}
