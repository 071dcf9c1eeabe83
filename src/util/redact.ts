/**
 * Secret redaction. Every string that may reach a log, a run record, an
 * error or the dashboard goes through here: the password of any URL
 * (`postgres://user:pw@host` -> `postgres://user:***@host`) and
 * `password=...` style parameters are replaced.
 *
 * URL passwords are masked by position, never by parsing the URL or by
 * searching for the password's text: everything between `scheme://user:`
 * and the last `@` that is followed by a host is masked, so a password that
 * was not percent-encoded (`/`, `#`, `?`, spaces, more `@`) is hidden whole,
 * and a password that also occurs elsewhere (the database name) leaves that
 * text readable and tells nothing. A URL's span ends at the end of its line
 * or where the next `scheme://` starts; when in doubt more is masked, never less.
 */
const URL_USER = /[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:/gi;
/** Where the span a URL's password may occupy ends: a line break or the next URL. */
const SPAN_END = /[\r\n]|[a-z][a-z0-9+.-]*:\/\//gi;
/** `@` followed by a host (name, IPv4 or [IPv6]) and then what may end it: a port, a path, the end ... */
const HOST_AT = /@(?:\[[0-9a-f:.]+\]|[a-z0-9._~%-]+)(?=$|[:/?#\s,;)"'\]}>`])/gi;
const KV_PASSWORD = /\b(password|passwd|pwd|token|secret)=([^&\s'"]+)/gi;

export function redactSecrets(text: string): string {
  return redactUrlPasswords(text).replace(KV_PASSWORD, "$1=***");
}

/** `scheme://user:<anything>@host` -> `scheme://user:***@host`, for every URL in `text`. */
function redactUrlPasswords(text: string): string {
  let out = "";
  let copied = 0;
  const users = new RegExp(URL_USER);
  for (let m = users.exec(text); m; m = users.exec(text)) {
    const start = m.index + m[0].length;
    const at = lastHostAt(text, start);
    if (at < 0) continue;
    out += `${text.slice(copied, start)}***`;
    copied = at;
    users.lastIndex = at;
  }
  return out + text.slice(copied);
}

/** Index of the last host-introducing `@` of the URL whose password starts at `start`; -1 when none. */
function lastHostAt(text: string, start: number): number {
  const ends = new RegExp(SPAN_END);
  ends.lastIndex = start;
  const end = ends.exec(text)?.index ?? text.length;
  const span = text.slice(start, end);
  let last = -1;
  const hosts = new RegExp(HOST_AT);
  for (let h = hosts.exec(span); h; h = hosts.exec(span)) {
    last = h.index;
    hosts.lastIndex = h.index + 1;
  }
  return last < 0 ? -1 : start + last;
}

/** Deep-redacts every string in a JSON-like value. */
export function redactDeep<T>(value: T): T {
  if (typeof value === "string") return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}
