import type { Redis } from "ioredis";
import { SluiceError } from "../../errors.js";
import { redactSecrets } from "../../util/redact.js";
import type { BrokerPublisher, OutgoingMessage } from "../publisher.js";
import { connectRedis } from "./connect-redis.js";

/** Where a `redis://host:port/<stream key>[?db=N]` URL publishes. */
export interface RedisTarget {
  /** The connection URL for the client: credentials, host, port and `/db`, without the key. */
  readonly server: string;
  readonly key: string;
  /** `redis://user:***@host:6379/key`. */
  readonly display: string;
}

/** The entry field holding the JSON record (the redis_stream source's default `field`). */
export const REDIS_DATA_FIELD = "data";

/**
 * Parses a publish URL: the whole path is the stream key (percent-decoded, so `a%2Fb` is `a/b`);
 * `?db=N` selects the database (default 0). A usage SluiceError (exit 2) when there is no key.
 */
export function parseRedisTarget(url: string, component: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usage(url, component);
  }
  const key = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if ((u.protocol !== "redis:" && u.protocol !== "rediss:") || key === "") throw usage(url, component);
  const db = u.searchParams.get("db");
  if (db !== null && !/^\d+$/.test(db)) throw usage(url, component);
  const auth = u.username || u.password ? `${u.username}${u.password ? `:${u.password}` : ""}@` : "";
  const hostPort = `${u.hostname}:${u.port || "6379"}`;
  return {
    server: `${u.protocol}//${auth}${hostPort}${db ? `/${db}` : ""}`,
    key,
    display: redactSecrets(`${u.protocol}//${auth}${hostPort}/${key}`),
  };
}

function usage(url: string, component: string): SluiceError {
  return new SluiceError(`${redactSecrets(url)}: expected redis://host:port/<stream key>`, {
    component,
    stage: "connect",
    hint: "e.g. redis://127.0.0.1:6379/events (the path is the stream key; ?db=N selects a database)",
    exitCode: 2,
  });
}

/**
 * A publisher to a Redis stream (see parseRedisTarget for the URL). Contract: each message becomes
 * one entry `XADD key * data <json>` (ids chosen by the server, so entries keep publish order);
 * a batch is one pipeline, sent in chunks of 1,000 commands. Redis has no deduplication, so
 * `OutgoingMessage.id` is not sent. Errors are SluiceErrors naming the URL without its password.
 */
export async function openRedisPublisher(url: string, component: string): Promise<BrokerPublisher> {
  const target = parseRedisTarget(url, component);
  const client = await connectRedis(target.server, `sluice-${component}`, component);
  return new RedisPublisher(client, target, component);
}

const CHUNK = 1000;

class RedisPublisher implements BrokerPublisher {
  readonly display: string;
  private closed = false;

  constructor(
    private readonly client: Redis,
    private readonly target: RedisTarget,
    private readonly component: string,
  ) {
    this.display = target.display;
  }

  async publishBatch(messages: readonly OutgoingMessage[]): Promise<number> {
    let stored = 0;
    for (let i = 0; i < messages.length; i += CHUNK) {
      const pipeline = this.client.pipeline();
      for (const m of messages.slice(i, i + CHUNK)) {
        pipeline.xadd(
          this.target.key,
          "*",
          REDIS_DATA_FIELD,
          typeof m.data === "string" ? m.data : Buffer.from(m.data),
        );
      }
      let results: [Error | null, unknown][] | null;
      try {
        results = await pipeline.exec();
      } catch (err) {
        throw this.failure(err);
      }
      for (const [err] of results ?? []) {
        if (err) throw this.failure(err);
        stored++;
      }
    }
    return stored;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private failure(err: unknown): SluiceError {
    const text = redactSecrets(err instanceof Error ? err.message : String(err));
    return new SluiceError(`cannot publish to ${this.display}: ${text}`, {
      component: this.component,
      stage: "publish",
      hint: /WRONGTYPE/.test(text)
        ? "the key holds something other than a stream: pick another key"
        : "check that redis-server runs and has memory left (maxmemory)",
      transient: !/WRONGTYPE|OOM|NOAUTH|NOPERM/.test(text),
      cause: err,
    });
  }
}
