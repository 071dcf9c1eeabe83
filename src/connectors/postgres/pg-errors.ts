import { SluiceError } from "../../errors.js";
import { scrubSecrets } from "./connection-url.js";

/** Where a PostgreSQL error happened, for the message and hint. */
export interface PgErrorContext {
  /** `source:postgres` or `sink:postgres` ... */
  readonly component: string;
  /** Stage name shown with the error (extract, check, load). */
  readonly stage: string;
  /** `postgres://user:***@host:5432/db` */
  readonly display: string;
  /** Password to scrub from any text that reaches the user. */
  readonly password: string | undefined;
  /** What sluice was doing, a phrase the URL completes: `connecting to`, `exporting public."BehavioralEvent" from`. */
  readonly doing?: string;
}

/**
 * Network error codes (Node) after which the same attempt may succeed later:
 * the server restarting, a failover, a dropped connection.
 */
const TRANSIENT_NET = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

/** SQLSTATEs worth a retry (classes 08 and the codes listed in SPEC section 5). */
function transientSqlState(code: string): boolean {
  return (
    code.startsWith("08") || // connection exception
    code === "57P01" || // admin_shutdown
    code === "57P02" || // crash_shutdown
    code === "57P03" || // cannot_connect_now (starting up, recovery)
    code === "57014" || // query_canceled (statement_timeout, cancel from outside)
    code === "40001" || // serialization_failure
    code === "40P01" || // deadlock_detected
    code === "53300" || // too_many_connections
    code === "53400" || // configuration_limit_exceeded
    code === "55P03" || // lock_not_available
    code === "55006" // object_in_use
  );
}

/** Messages node-postgres uses (without a code) when the connection dies. */
const TRANSIENT_MESSAGES = [
  /connection terminated/i,
  /timeout expired/i,
  /connection timeout/i,
  /client has encountered a connection error/i,
  /server closed the connection unexpectedly/i,
  /socket hang up/i,
];

const HINTS: Record<string, string> = {
  "28P01": "check the user and password of the URL (they are not shown here)",
  "28000": "the server refused this user/host/database: check pg_hba.conf and the user name",
  "3D000": "the database in the URL does not exist: check its name (the path of the URL)",
  "42501": "the user lacks a privilege: GRANT USAGE ON SCHEMA ... and GRANT SELECT ON the table TO the user",
  "42601": "the SQL is malformed: check `query` (and `where` keys) in the source config",
  "42P01": "the table or view does not exist: check `table`, `schema` and the URL's ?schema=",
  "42703": "a column does not exist: check `columns`, `cursor`, `key` and `where`",
  "42883":
    "an operator or function does not exist for these types: check the `cursor` column's type (window and lookback need a timestamp or date)",
  "3F000": "the schema does not exist: check `schema` or the URL's ?schema=",
};

function codeOf(err: unknown): string | undefined {
  if (!err || typeof err !== "object") return undefined;
  const e = err as { code?: unknown; errors?: unknown[] };
  if (typeof e.code === "string") return e.code;
  // Node reports a connection refused on every address of a host as an AggregateError.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = codeOf(inner);
      if (c) return c;
    }
  }
  return undefined;
}

/** True when a retry of the whole attempt may succeed. */
export function isTransientPgError(err: unknown): boolean {
  const code = codeOf(err);
  if (code && TRANSIENT_NET.has(code)) return true;
  if (code && /^[0-9A-Z]{5}$/.test(code)) return transientSqlState(code);
  const message = err instanceof Error ? err.message : String(err);
  return TRANSIENT_MESSAGES.some((re) => re.test(message));
}

/**
 * Turns anything node-postgres throws into a SluiceError: `transient` set
 * for errors a retry may cure (the runner's retry loop reads only that
 * flag), a hint for the terminal ones, and no password anywhere in the
 * text. A SluiceError passes through with its text scrubbed.
 */
export function toPgSluiceError(err: unknown, ctx: PgErrorContext): SluiceError {
  if (err instanceof SluiceError) {
    return new SluiceError(scrubSecrets(err.message, ctx.password, ctx.display), {
      component: err.component,
      stage: err.stage,
      ...(err.hint ? { hint: scrubSecrets(err.hint, ctx.password, ctx.display) } : {}),
      transient: err.transient,
      exitCode: err.exitCode,
    });
  }
  const code = codeOf(err);
  const raw = err instanceof Error ? err.message || code || err.name : String(err);
  const transient = isTransientPgError(err);
  const detail = (err as { detail?: string } | undefined)?.detail;
  const where = `${ctx.doing ?? "talking to"} ${ctx.display}`;
  const message = scrubSecrets(
    `${where}: ${raw}${code && !raw.includes(code) ? ` (${code})` : ""}`,
    ctx.password,
    ctx.display,
  );
  let hint = code ? HINTS[code] : undefined;
  if (!hint && transient) {
    hint = "the server refused or dropped the connection: is it running and reachable? A run retries per `retries`";
  }
  if (!hint && code === "ENOTFOUND") hint = "the host name of the URL does not resolve";
  if (detail) hint = `${hint ? `${hint}; ` : ""}server detail: ${detail}`;
  // The cause is not attached: driver errors carry the connection parameters.
  return new SluiceError(message, {
    component: ctx.component,
    stage: ctx.stage,
    ...(hint ? { hint: scrubSecrets(hint, ctx.password, ctx.display) } : {}),
    transient,
  });
}
