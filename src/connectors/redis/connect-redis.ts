import { Redis } from "ioredis";
import { SluiceError } from "../../errors.js";
import { redactSecrets } from "../../util/redact.js";

/**
 * A Redis client for `url` (redis://[user:pass@]host:port[/db]). Contract: it reconnects with
 * exponential backoff (100 ms doubling to 5 s) for as long as it lives, commands wait for the
 * connection instead of failing (a restarted server is picked up again); `connect()` has been
 * awaited, so a server that does not answer at first is a transient SluiceError naming it (never
 * the password). `blocking` clients are for XREADGROUP BLOCK: a connection of their own.
 */
export async function connectRedis(url: string, name: string, component: string): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
  });
  client.on("error", () => {
    // Reconnects are retried by the strategy above; failures surface through commands.
  });
  try {
    await client.connect();
    return client;
  } catch (err) {
    client.disconnect();
    throw new SluiceError(`cannot connect to Redis at ${redactSecrets(url)}: ${redactSecrets(String(err))}`, {
      component,
      stage: "connect",
      hint: "check that redis-server runs and the URL's host and port",
      transient: true,
      cause: err,
    });
  }
}
