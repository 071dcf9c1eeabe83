import { parse } from "yaml";

/** One parsed `--set key.path=value`: the path into the config and the value (YAML scalar or flow). */
export interface ConfigSet {
  /** The argument as the user typed it, for messages: `--set <text>: ...`. */
  readonly text: string;
  readonly path: (string | number)[];
  readonly value: unknown;
}

/** What `--set` takes; the message of a malformed one. */
export const SET_USAGE = "--set takes key.path=value, e.g. --set pipelines.events.source.rows=100";

/**
 * Parses `--set` arguments. A path is dot-separated keys; list items are `sinks.0` or `sinks[0]`.
 * Returns the sets and one message per malformed argument (`--set foo: --set takes key.path=value`).
 */
export function parseSets(args: readonly string[]): { sets: ConfigSet[]; problems: string[] } {
  const sets: ConfigSet[] = [];
  const problems: string[] = [];
  for (const text of args) {
    const eq = text.indexOf("=");
    const path = eq > 0 ? splitPath(text.slice(0, eq)) : undefined;
    if (!path) {
      problems.push(`--set ${text}: ${SET_USAGE}`);
      continue;
    }
    sets.push({ text, path, value: parse(text.slice(eq + 1)) });
  }
  return { sets, problems };
}

/** `pipelines.a.sinks[0].x` and `pipelines.a.sinks.0.x` -> ["pipelines","a","sinks",0,"x"]; undefined if malformed. */
function splitPath(path: string): (string | number)[] | undefined {
  const segs = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  if (segs.some((s) => s === "" || /[[\]]/.test(s))) return undefined;
  return segs.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/**
 * The set a config problem comes from: the last `--set` whose path is a prefix of the problem's
 * place (`path`, plus the offending `key` for unknown keys). Problems there are the command line's.
 */
export function setAt(sets: readonly ConfigSet[], path: readonly PropertyKey[], key?: string): ConfigSet | undefined {
  const place = key === undefined ? path : [...path, key];
  return sets.findLast((s) => s.path.length <= place.length && s.path.every((seg, i) => seg === place[i]));
}

/** Applies sets to a plain object (configs given as TypeScript/JavaScript modules). */
export function applySetsToObject(obj: Record<string, unknown>, sets: readonly ConfigSet[]): Record<string, unknown> {
  for (const { path, value } of sets) {
    let cur = obj as Record<string | number, unknown>;
    for (const seg of path.slice(0, -1)) {
      if (cur[seg] === undefined || cur[seg] === null) cur[seg] = {};
      cur = cur[seg] as Record<string | number, unknown>;
    }
    cur[path.at(-1)!] = value;
  }
  return obj;
}
