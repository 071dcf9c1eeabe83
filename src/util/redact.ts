/**
 * Secret redaction. Every string that may reach a log, a run record, an
 * error or the dashboard goes through here: the password of any URL
 * (`postgres://user:pw@host` -> `postgres://user:***@host`) and
 * `password=...` style parameters are replaced.
 */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):([^@/\s]*)@/gi;
const KV_PASSWORD = /\b(password|passwd|pwd|token|secret)=([^&\s'"]+)/gi;

export function redactSecrets(text: string): string {
  return text.replace(URL_PASSWORD, "$1:***@").replace(KV_PASSWORD, "$1=***");
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
