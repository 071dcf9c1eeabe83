import type { Socket } from "node:net";
import pg from "pg";
import type { PostgresUrl } from "./connection-url.js";

/**
 * Session settings every sluice connection runs with, so values arrive in
 * the one text form the DuckDB side parses: timestamps in UTC with ISO
 * dates, `postgres` intervals, hex bytea, exact floats, UTF-8. Like pg_dump,
 * an export is not cut short by the role's statement or idle-in-transaction
 * timeouts (the export transaction idles while DuckDB loads a range).
 */
const SESSION_SETTINGS = [
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  "SET bytea_output = 'hex'",
  "SET extra_float_digits = 3",
  "SET client_encoding = 'UTF8'",
  "SET statement_timeout = 0",
  "SET idle_in_transaction_session_timeout = 0",
].join("; ");

/**
 * Opens one connection with sluice's session settings.
 *
 * Contract: the returned client never emits an unhandled 'error' (a server
 * that dies between queries would otherwise crash the process); the failure
 * surfaces on the next query instead. Close it with `closeSession`.
 */
export async function openSession(url: PostgresUrl, connectTimeoutMs = 15_000): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url.connectionString,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    application_name: "sluice",
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query(SESSION_SETTINGS);
  } catch (err) {
    closeSession(client, true);
    throw err;
  }
  return client;
}

/**
 * Closes a connection. `abort` drops the socket at once (a COPY in flight
 * cannot be ended politely: the server only reads the terminate message
 * after it has sent every row); otherwise it ends the session cleanly.
 * Never throws.
 */
export function closeSession(client: pg.Client, abort = false): Promise<void> {
  if (abort) {
    const socket = (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
    socket?.destroy();
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((done) => {
    timer = setTimeout(done, 2000);
    timer.unref();
  });
  return Promise.race([client.end().catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}
