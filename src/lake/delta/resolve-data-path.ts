import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deltaError } from "./delta-error.js";

/**
 * The local file an `add.path` names. Contract: the log path is a URI reference, decoded exactly
 * once with RFC 2396 percent-decoding (`%20` -> space, `%25` -> `%`, `+` stays a plus); the result
 * may still hold Hive escapes such as `%3A`, which are part of the file name on disk. A relative
 * path is resolved against the table root; a `file:` URI is used as is; other schemes (s3://, ...)
 * are refused, as sluice reads local tables.
 */
export function resolveDataPath(root: string, logPath: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(logPath)?.[1];
  if (scheme && scheme.length > 1) {
    if (scheme.toLowerCase() === "file") return fileURLToPath(logPath);
    throw deltaError(
      `the Delta table ${root} names a data file on ${scheme}:// (${logPath}); sluice reads local files only`,
      "copy the table to a local folder",
      "open",
    );
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(logPath);
  } catch (err) {
    throw deltaError(
      `the Delta table ${root} has a malformed path in its log: ${logPath}`,
      "the log is damaged",
      "open",
      err,
    );
  }
  return isAbsolute(decoded) ? decoded : join(root, decoded);
}
