import { isAbsolute, relative, resolve, sep } from "node:path";
import { ConfigError } from "../errors.js";

/**
 * Names sluice turns into path segments: pipeline names, dataset stems, run ids. A letter, digit
 * or underscore first, then letters, digits, `_`, `.` and `-`: never a separator, never `.`/`..`.
 */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Run ids as `newRunId` makes them (`20260301T020000Z_3fa9c1`). */
const RUN_ID = /^\d{8}T\d{6}Z_[0-9a-f]+$/;

/** Why `name` cannot be one path segment, or undefined when it can. */
export function segmentProblem(name: string): string | undefined {
  if (SEGMENT.test(name)) return undefined;
  return `${JSON.stringify(name)} cannot name a folder or file: use letters, digits, \`_\`, \`.\` and \`-\`, starting with a letter, digit or \`_\``;
}

/** `name` when it is a safe path segment; a ConfigError (exit 2) naming `what` otherwise. */
export function safeSegment(what: string, name: string): string {
  const problem = segmentProblem(name);
  if (problem) throw new ConfigError(`${what} ${problem}`);
  return name;
}

/** Whether `id` has the shape of a run id. */
export function isRunId(id: string): boolean {
  return RUN_ID.test(id);
}

/** `id` when it has the shape of a run id; a ConfigError otherwise (so it cannot walk the lake). */
export function safeRunId(id: string): string {
  if (!isRunId(id)) {
    throw new ConfigError(
      `${JSON.stringify(id)} is not a run id (they look like 20260301T020000Z_3fa9c1)`,
      "list run ids with `sluice runs PIPELINE`",
    );
  }
  return id;
}

/**
 * Why the configured output path `path` would not stay under data_dir, or undefined. A relative
 * path must name something below data_dir once resolved (`../x` does not, nor `.`); an absolute
 * path is the user's explicit choice and is allowed (documented in the README).
 */
export function escapeProblem(path: string): string | undefined {
  if (isAbsolute(path)) return undefined;
  const root = resolve("/data_dir");
  const rel = relative(root, resolve(root, path));
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    return `path ${JSON.stringify(path)} is not under data_dir: give a relative path below it (e.g. lake/events), or an absolute path on purpose`;
  }
  return undefined;
}
