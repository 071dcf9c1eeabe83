import type { z } from "zod";
import { keysAt } from "./schema-walk.js";
import { configSpec } from "./spec.js";
import { suggest } from "./suggest.js";

/** Where a config problem is: `file:line:col`, `--set k=v`, or `file: path` for configs given as objects. */
export type Locate = (path: readonly PropertyKey[], key?: string) => string;

/**
 * Component types the config language names (SPEC section 3) that this version does not implement:
 * a config using one is told so plainly, not sent to a command that does not exist.
 */
const PLANNED_TYPES: Readonly<Record<string, string>> = {};

/**
 * One zod issue as a line a user can act on: where, what was expected, what was given, and the
 * closest allowed value or key (`did you mean`). `value` is the config before validation.
 */
export function describeIssue(issue: z.core.$ZodIssue, value: unknown, where: Locate): string {
  const at = formatPath(issue.path);
  const got = getAt(value, issue.path);
  if (issue.code === "unrecognized_keys") {
    const known = keysAt(configSpec, issue.path, value);
    return issue.keys
      .map((key) => {
        const s = suggest(key, known);
        const hint = s ? `, did you mean \`${s}\`?` : known.length ? ` (allowed: ${known.join(", ")})` : "";
        return `${where(issue.path, key)}: unknown key \`${key}\`${at ? ` in ${at}` : ""}${hint}`;
      })
      .join("\n");
  }
  if (issue.code === "invalid_union" && "discriminator" in issue) return unknownType(issue, got, where);
  const values = allowedValues(issue);
  if (values) {
    const s = typeof got === "string" ? suggest(got, values) : undefined;
    return `${where(issue.path)}: ${at}: expected one of ${values.join(" | ")}, got ${JSON.stringify(got)}${s ? `, did you mean \`${s}\`?` : ""}`;
  }
  if (issue.code === "invalid_type" && got === undefined) {
    return `${where(issue.path.slice(0, -1))}: ${at}: required key is missing (expected ${issue.expected})`;
  }
  if (issue.code === "invalid_type" && issue.expected === "array" && typeof got === "string") {
    return `${where(issue.path)}: ${at}: expected a list, e.g. [${got}]`;
  }
  return `${where(issue.path)}: ${at ? `${at}: ` : ""}${issue.message}`;
}

/** `unknown source type "files"; expected one of file, postgres, generate; did you mean "file"?` */
function unknownType(issue: z.core.$ZodIssue & { options?: unknown[] }, got: unknown, where: Locate): string {
  const kind = componentKind(issue.path);
  if (typeof got === "string" && PLANNED_TYPES[got]) {
    return `${where(issue.path)}: ${kind} type ${JSON.stringify(got)} is not available in this version of sluice (planned: ${PLANNED_TYPES[got]})`;
  }
  const options = (issue.options ?? []).map(String);
  if (got === undefined) {
    return `${where(issue.path.slice(0, -1))}: ${formatPath(issue.path.slice(0, -1))}: a ${kind} needs \`type\`: one of ${options.join(", ")}`;
  }
  const s = typeof got === "string" ? suggest(got, options) : undefined;
  return `${where(issue.path)}: unknown ${kind} type ${JSON.stringify(got)}; expected one of ${options.join(", ")}${s ? `; did you mean ${JSON.stringify(s)}?` : ""}`;
}

/** `source` for pipelines.x.source.type, `transform` for ...transforms[2].type, `sink` for sinks. */
function componentKind(path: readonly PropertyKey[]): string {
  const name = [...path.slice(0, -1)].reverse().find((p) => typeof p === "string");
  return typeof name === "string" ? name.replace(/s$/, "") : "component";
}

/** The allowed values of an enum, also when the enum is one branch of a union (`validation`). */
function allowedValues(issue: z.core.$ZodIssue): string[] | undefined {
  if (issue.code === "invalid_value") return issue.values.map(String);
  if (issue.code !== "invalid_union" || !("errors" in issue)) return undefined;
  const values = issue.errors
    .flat()
    .filter((e) => e.code === "invalid_value" && e.path.length === 0)
    .flatMap((e) => (e as { values: unknown[] }).values)
    .filter((v): v is string => typeof v === "string");
  return values.length ? values : undefined;
}

export function getAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let cur = value;
  for (const seg of path) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** `["pipelines","a","sinks",0,"x"]` -> `pipelines.a.sinks[0].x`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("");
}
