import { ConfigError } from "../errors.js";
import { redactSecrets } from "../util/redact.js";

/** One record to publish: its JSON text and an id the broker may deduplicate a republish by. */
export interface OutgoingMessage {
  readonly data: string | Uint8Array;
  /**
   * Stable id of this message: NATS sends it as `Nats-Msg-Id`, so the server drops a republish of the
   * same id within the stream's duplicate window (2 minutes by default). Redis ignores it (XADD `*`).
   */
  readonly id: string;
  /** NATS: headers sent with the message (values of one line). Redis ignores them. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Redis: fields of the entry after `data` (`[name, value]`), for the batch publisher. NATS ignores them. */
  readonly fields?: readonly (readonly [string, string])[];
}

/** A connection publishing to one target (a JetStream subject, a Redis stream key). */
export interface BrokerPublisher {
  /** The target without its password: `nats://host:4222/subject (stream S)`, `redis://host:6379/key`. */
  readonly display: string;
  /**
   * Publishes `messages` in order, pipelined (all in flight at once), and resolves once the broker
   * has stored every one of them, with how many it stored (NATS: duplicates it dropped are not
   * counted). Rejects with a SluiceError naming the target (never a password) when any failed.
   */
  publishBatch(messages: readonly OutgoingMessage[]): Promise<number>;
  /** Flushes and closes the connection; idempotent. */
  close(): Promise<void>;
}

/** The URL schemes a publisher exists for. */
export const PUBLISH_SCHEMES = ["nats", "redis"] as const;

/**
 * Opens a publisher for `url` by its scheme: `nats://[user:pass@]host[:port]/<subject>[?stream=NAME]`
 * (see openNatsPublisher) or `redis://[user:pass@]host[:port]/<stream key>[?db=N]` (see
 * openRedisPublisher). A ConfigError for any other scheme; the broker's client library is loaded
 * only for its scheme.
 */
export async function openPublisher(url: string, component: string): Promise<BrokerPublisher> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "nats") return (await import("./nats/publish-nats.js")).openNatsPublisher(url, component);
  if (scheme === "redis") return (await import("./redis/publish-redis.js")).openRedisPublisher(url, component);
  throw new ConfigError(
    `${redactSecrets(url)}: cannot publish to this URL`,
    "use nats://host:4222/<subject> or redis://host:6379/<stream key>",
  );
}

/**
 * Publishes every message of `messages` through `publisher` in windows of `window` messages
 * (each window pipelined and awaited before the next: bounded memory, many in flight), calling
 * `onProgress` with the running count after each window. Returns how many the broker stored.
 */
export async function publishAll(
  publisher: BrokerPublisher,
  messages: AsyncIterable<OutgoingMessage> | Iterable<OutgoingMessage>,
  window = 1000,
  onProgress?: (published: number) => void,
): Promise<number> {
  let published = 0;
  let batch: OutgoingMessage[] = [];
  for await (const m of messages) {
    batch.push(m);
    if (batch.length >= window) {
      published += await publisher.publishBatch(batch);
      batch = [];
      onProgress?.(published);
    }
  }
  if (batch.length > 0) {
    published += await publisher.publishBatch(batch);
    onProgress?.(published);
  }
  return published;
}
