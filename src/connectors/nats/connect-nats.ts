import { connect, type NatsConnection } from "@nats-io/transport-node";
import { SluiceError } from "../../errors.js";
import { redactSecrets } from "../../util/redact.js";

/** A nats:// URL: the server list for the client and what users may see. */
export interface NatsUrl {
  /** `host:port` servers, credentials kept for the client. */
  readonly servers: string;
  readonly user?: string;
  readonly pass?: string;
  /** `nats://user:***@host:4222`. */
  readonly display: string;
}

/** Parses `nats://[user:pass@]host[:port][/...]`; a configuration SluiceError otherwise. */
export function parseNatsUrl(url: string, component: string): NatsUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SluiceError(`${redactSecrets(url)} is not a nats:// URL`, {
      component,
      stage: "connect",
      hint: "e.g. nats://127.0.0.1:4222",
      exitCode: 2,
    });
  }
  if (u.protocol !== "nats:") {
    throw new SluiceError(`${redactSecrets(url)} is not a nats:// URL`, {
      component,
      stage: "connect",
      hint: "e.g. nats://127.0.0.1:4222",
      exitCode: 2,
    });
  }
  const servers = `${u.hostname}:${u.port || "4222"}`;
  return {
    servers,
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { pass: decodeURIComponent(u.password) } : {}),
    display: `nats://${u.username ? `${u.username}:***@` : ""}${servers}`,
  };
}

/**
 * Connects to NATS. Contract: the client reconnects by itself for as long as the connection lives
 * (no attempt limit, 250 ms apart with jitter up to 1 s), so a restarted server is picked up
 * again; a first connection that fails is a transient SluiceError naming the server (never the
 * password).
 */
export async function connectNats(url: string, name: string, component: string): Promise<NatsConnection> {
  const parsed = parseNatsUrl(url, component);
  try {
    return await connect({
      servers: parsed.servers,
      name,
      ...(parsed.user ? { user: parsed.user } : {}),
      ...(parsed.pass ? { pass: parsed.pass } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 1000,
      timeout: 5000,
    });
  } catch (err) {
    throw new SluiceError(`cannot connect to NATS at ${parsed.display}: ${redactSecrets(String(err))}`, {
      component,
      stage: "connect",
      hint: "check that nats-server runs with JetStream (-js) and the URL's host and port",
      transient: true,
      cause: err,
    });
  }
}
