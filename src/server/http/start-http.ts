import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { ConfigError } from "../../errors.js";
import type { ServeContext } from "../serve-context.js";
import { isLoopback } from "./access-control.js";
import { createApp } from "./create-app.js";

export interface HttpOptions {
  /** Interface to bind (default of `sluice serve`: 127.0.0.1). */
  readonly host: string;
  /** 0 takes a free port (tests). */
  readonly port: number;
  /** The bearer token (`SLUICE_TOKEN`); required on any non-loopback host, enforced whenever given. */
  readonly token?: string;
}

export interface RunningHttp {
  /** `http://HOST:PORT` (no trailing slash; an IPv6 host in brackets). */
  readonly url: string;
  /** Stops accepting, ends open event streams, and resolves when the server is closed. */
  close(): Promise<void>;
}

/**
 * Starts the dashboard, /metrics and /health on `host:port` (@hono/node-server). Refuses, before
 * binding, a non-loopback host without a token: anyone who can reach the port could otherwise start
 * runs and read the data's samples.
 */
export async function startHttp(ctx: ServeContext, opts: HttpOptions): Promise<RunningHttp> {
  const token = opts.token === "" ? undefined : opts.token;
  if (!isLoopback(opts.host) && token === undefined) {
    throw new ConfigError(
      `the dashboard would listen on ${opts.host}, which is reachable from other machines, without a token`,
      "set SLUICE_TOKEN to a secret (clients send `Authorization: Bearer <token>`), or bind 127.0.0.1",
    );
  }
  const dashboard = createApp(ctx, token);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: dashboard.app.fetch, hostname: opts.host, port: opts.port }, () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  ctx.log.info(`dashboard on ${url}${token ? " (token required)" : ""}`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        dashboard.dispose();
        server.close((err) => (err ? reject(err) : resolve()));
        // Event streams never end by themselves: close their connections so close() returns.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
