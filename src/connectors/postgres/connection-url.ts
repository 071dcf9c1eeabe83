import { SluiceError } from "../../errors.js";
import { redactSecrets } from "../../util/redact.js";

/** A PostgreSQL URL taken apart: what node-postgres gets, what users see, what must never be shown. */
export interface PostgresUrl {
  /** The URL handed to node-postgres: ORM-only parameters (`?schema=`, `?table=` ...) removed. */
  readonly connectionString: string;
  /** `?schema=` of an ORM-style URL (Prisma writes `?schema=public`). */
  readonly schema: string | undefined;
  /** `?table=` of a `sluice generate --out postgres://...?table=NAME` URL. */
  readonly table: string | undefined;
  /** `postgres://user:***@host:5432/db`: safe for logs, records and errors. */
  readonly display: string;
  /** The password, decoded, so error text can be scrubbed of it; undefined when the URL has none. */
  readonly password: string | undefined;
}

/**
 * Query parameters that ORMs put in their URLs and node-postgres does not
 * understand. They are removed before the URL reaches the driver; `schema`
 * and `table` are kept for sluice.
 */
const NON_DRIVER_PARAMS = [
  "schema",
  "table",
  "connection_limit",
  "pool_timeout",
  "pgbouncer",
  "socket_timeout",
  "statement_cache_size",
  "sslaccept",
];

/**
 * Parses `url`, or `$DATABASE_URL` when `url` is undefined.
 *
 * Throws a configuration SluiceError (exit code 2) when neither is set or the
 * URL is not a postgres:// URL; the message never contains the password.
 */
export function parsePostgresUrl(url: string | undefined, component = "source:postgres"): PostgresUrl {
  const raw = url ?? process.env.DATABASE_URL;
  if (!raw) {
    throw new SluiceError("no PostgreSQL URL: `url` is not set and DATABASE_URL is empty", {
      component,
      stage: "config",
      hint: "set `source.url: postgres://user:password@host:5432/db`, or export DATABASE_URL",
      exitCode: 2,
    });
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new SluiceError(`not a URL: ${redactSecrets(raw)}`, {
      component,
      stage: "config",
      hint: "expected postgres://user:password@host:5432/db (percent-encode special characters of the password)",
      exitCode: 2,
    });
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new SluiceError(`not a PostgreSQL URL: ${redactSecrets(raw)}`, {
      component,
      stage: "config",
      hint: "the URL must start with postgres:// or postgresql://",
      exitCode: 2,
    });
  }
  const schema = parsed.searchParams.get("schema") ?? undefined;
  const table = parsed.searchParams.get("table") ?? undefined;
  for (const p of NON_DRIVER_PARAMS) parsed.searchParams.delete(p);
  const password = parsed.password ? safeDecode(parsed.password) : undefined;

  const shown = new URL(parsed.href);
  shown.search = "";
  if (shown.password) shown.password = "***";
  const port = shown.port || "5432";
  const auth = shown.username ? `${shown.username}${shown.password ? ":***" : ""}@` : "";
  // Redacted again by position: a password with an unencoded `/` can parse as a port and a path.
  const display = redactSecrets(`${shown.protocol}//${auth}${shown.hostname}:${port}${shown.pathname}`);

  return { connectionString: parsed.href, schema: schema || undefined, table: table || undefined, display, password };
}

/**
 * Removes every trace of a password from text bound for a user: URL
 * passwords and `password=` parameters (redactSecrets), and the literal
 * password itself wherever a driver or server echoed it — unless it occurs
 * in `visible` (the display URL: user, host, database name), where masking
 * it would point at it (`postgres://app:***@h/***` says password = db name).
 */
export function scrubSecrets(text: string, password: string | undefined, visible = ""): string {
  let out = redactSecrets(text);
  if (
    password &&
    password.length > 0 &&
    !visible.includes(password) &&
    !visible.includes(encodeURIComponent(password))
  ) {
    out = out.split(password).join("***");
    const encoded = encodeURIComponent(password);
    if (encoded !== password) out = out.split(encoded).join("***");
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
