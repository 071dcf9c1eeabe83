import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Cron } from "croner";
import { type Document, isMap, isPair, isScalar, LineCounter, parse, parseDocument, visit } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.js";
import { keysAt } from "./schema-walk.js";
import { configSpec, type SluiceConfig } from "./spec.js";
import { suggest } from "./suggest.js";

/** A validated config and the absolute paths derived from it. */
export interface LoadedConfig {
  /** The config file (absolute), or a label for configs given as objects. */
  readonly path: string;
  /** Directory relative paths in the config resolve against. */
  readonly dir: string;
  readonly config: SluiceConfig;
  readonly dataDir: string;
  readonly warehousePath: string;
}

export interface LoadOptions {
  /** `key.path=value` overrides (`--set`), applied before validation. */
  readonly sets?: readonly string[];
  /** Environment for `${VAR}` substitution; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Substitute unset variables with "" instead of failing: for commands that only read the lake or the
   * ledger (`query`, `runs`, `quarantine`) and never connect to what the variable names.
   */
  readonly allowMissingEnv?: boolean;
}

const DEFAULT_NAMES = ["sluice.yaml", "sluice.yml", "sluice.config.ts", "sluice.config.mjs", "sluice.config.js"];

/** Finds the config file: `explicit`, else the first default name in `cwd`. */
export function findConfigFile(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit) {
    const p = resolve(cwd, explicit);
    if (!existsSync(p)) throw new ConfigError(`config file ${explicit} does not exist`, "check the path given to -c");
    return p;
  }
  for (const name of DEFAULT_NAMES) {
    const p = join(cwd, name);
    if (existsSync(p)) return p;
  }
  throw new ConfigError(
    `no sluice.yaml in ${cwd}`,
    "create one (see examples/ in the sluice repository), or pass -c FILE",
  );
}

/**
 * Loads and validates a config file (YAML, or a TypeScript/JavaScript module
 * whose default export is a config). Every problem is reported at once as a
 * ConfigError (exit 2) whose lines read `file:line:column: what, did you mean`.
 */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const path = resolve(file);
  if (/\.(ts|mts|js|mjs)$/.test(path)) {
    const mod = (await importModule(path)) as { default?: unknown };
    // A .ts file outside an ESM package is compiled as CommonJS: its default export arrives as default.default.
    const exported = (mod.default as { default?: unknown } | undefined)?.default ?? mod.default ?? {};
    const value = applySetsToObject(structuredClone(exported) as Record<string, unknown>, options.sets ?? []);
    return validateConfigObject(value, path);
  }
  const text = readFileSync(path, "utf8");
  return loadConfigText(text, path, options);
}

/** Loads a config from YAML text; `path` names it in messages and anchors relative paths. */
export function loadConfigText(text: string, path: string, options: LoadOptions = {}): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const where = (offset: number | undefined) => {
    if (offset === undefined) return path;
    const { line, col } = lineCounter.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `${where(e.pos[0])}: ${e.message.split("\n")[0]}`);
    throw new ConfigError(lines.join("\n"), "fix the YAML syntax at the position shown");
  }
  const problems: string[] = [];
  substituteEnv(doc, options.env ?? process.env, (offset, msg) => {
    if (!options.allowMissingEnv) problems.push(`${where(offset)}: ${msg}`);
  });
  for (const set of options.sets ?? []) {
    const eq = set.indexOf("=");
    if (eq <= 0) {
      problems.push(`--set ${set}: expected key.path=value`);
      continue;
    }
    doc.setIn(splitPath(set.slice(0, eq)), doc.createNode(parse(set.slice(eq + 1))));
  }
  if (problems.length) throw new ConfigError(problems.join("\n"), "set the variable, or give a default: ${VAR:-value}");
  const value = (doc.toJS() ?? {}) as unknown;
  return finish(value, path, (issuePath, key) => where(offsetOf(doc, issuePath, key)));
}

/** Validates a config given as an object (TypeScript API, tests). */
export function validateConfigObject(value: unknown, path: string): LoadedConfig {
  return finish(value, path, (issuePath) => `${path}: ${formatPath(issuePath) || "(top level)"}`);
}

function finish(
  value: unknown,
  path: string,
  where: (path: readonly PropertyKey[], key?: string) => string,
): LoadedConfig {
  const result = configSpec.safeParse(value);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, value, where));
    throw new ConfigError(lines.join("\n"), "see `sluice schema` for every key, or the README's config section");
  }
  const config = result.data;
  const problems = semanticChecks(config).map(({ at, message }) => `${where(at)}: ${message}`);
  if (problems.length) throw new ConfigError(problems.join("\n"));
  const dir = dirname(path);
  const dataDir = resolve(dir, config.data_dir);
  const warehousePath = config.warehouse ? resolve(dir, config.warehouse) : join(dataDir, "duckdb", "analytics.duckdb");
  return { path, dir, config, dataDir, warehousePath };
}

function describeIssue(
  issue: z.core.$ZodIssue,
  value: unknown,
  where: (path: readonly PropertyKey[], key?: string) => string,
): string {
  const at = formatPath(issue.path);
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
  if (issue.code === "invalid_value" && "values" in issue) {
    const got = getAt(value, issue.path);
    const options = issue.values.map(String);
    const s = typeof got === "string" ? suggest(got, options) : undefined;
    return `${where(issue.path)}: ${at}: expected one of ${options.join(" | ")}, got ${JSON.stringify(got)}${s ? `, did you mean \`${s}\`?` : ""}`;
  }
  if (issue.code === "invalid_union" && "discriminator" in issue) {
    const got = getAt(value, [...issue.path, "type"]);
    return `${where(issue.path)}: ${at}: unknown type ${JSON.stringify(got)}`;
  }
  if (issue.code === "invalid_type" && getAt(value, issue.path) === undefined) {
    return `${where(issue.path.slice(0, -1))}: ${at}: required key is missing (expected ${issue.expected})`;
  }
  return `${where(issue.path)}: ${at ? `${at}: ` : ""}${issue.message}`;
}

/** Checks across fields that a schema cannot express: references, required companions, cron syntax. */
function semanticChecks(config: SluiceConfig): { at: PropertyKey[]; message: string }[] {
  const out: { at: PropertyKey[]; message: string }[] = [];
  const contracts = Object.keys(config.contracts);
  const pipelines = Object.keys(config.pipelines);
  for (const [name, p] of Object.entries(config.pipelines)) {
    if (typeof p.contract === "string" && !config.contracts[p.contract]) {
      const s = suggest(p.contract, contracts);
      out.push({
        at: ["pipelines", name, "contract"],
        message: `contract \`${p.contract}\` is not defined${s ? `, did you mean \`${s}\`?` : ` (defined: ${contracts.join(", ") || "none"})`}`,
      });
    }
    const { strategy, key, order_by } = p.dedup;
    if (strategy !== "none" && !key?.length) {
      out.push({
        at: ["pipelines", name, "dedup"],
        message: `dedup strategy \`${strategy}\` needs \`key: [column, ...]\``,
      });
    }
    if (strategy === "merge" && !order_by) {
      out.push({
        at: ["pipelines", name, "dedup"],
        message: "dedup strategy `merge` needs `order_by: column` (latest wins)",
      });
    }
    if (p.schedule) {
      try {
        new Cron(p.schedule, { paused: true });
      } catch (err) {
        out.push({
          at: ["pipelines", name, "schedule"],
          message: `invalid cron expression: ${(err as Error).message}`,
        });
      }
    }
    for (const dep of p.after ?? []) {
      if (!config.pipelines[dep]) {
        const s = suggest(dep, pipelines);
        out.push({
          at: ["pipelines", name, "after"],
          message: `unknown pipeline \`${dep}\`${s ? `, did you mean \`${s}\`?` : ""}`,
        });
      }
    }
    p.sinks.forEach((sink, i) => {
      if (sink.type === "duckdb" && sink.mode === "view" && !p.sinks.slice(0, i).some((s) => s.type === "parquet")) {
        out.push({
          at: ["pipelines", name, "sinks", i, "mode"],
          message:
            "a duckdb sink in `mode: view` reads Parquet files: put a parquet sink before it, or use `mode: table`",
        });
      }
    });
    if (p.source.type === "postgres" && !p.source.table && !p.source.query) {
      out.push({ at: ["pipelines", name, "source"], message: "a postgres source needs `table` or `query`" });
    }
  }
  return out;
}

function substituteEnv(
  doc: Document,
  env: NodeJS.ProcessEnv,
  problem: (offset: number | undefined, msg: string) => void,
) {
  const pattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== "string" || !node.value.includes("${")) return;
      const original = node.value;
      const replaced = original.replace(pattern, (_m, name: string, def: string | undefined) => {
        const v = env[name];
        if (v !== undefined && v !== "") return v;
        if (def !== undefined) return def;
        problem(node.range?.[0], `environment variable ${name} is not set`);
        return "";
      });
      const whole = /^\$\{[^}]*\}$/.test(original) && node.type === "PLAIN";
      node.value = whole ? (parse(replaced) ?? replaced) : replaced;
    },
  });
}

function offsetOf(doc: Document, path: readonly PropertyKey[], key?: string): number | undefined {
  const segs = path.map((p) => (typeof p === "symbol" ? String(p) : p));
  for (let n = segs.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(segs.slice(0, n), true);
    if (!node || typeof node !== "object") continue;
    if (key !== undefined && n === segs.length && isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === key);
      if (pair && isScalar(pair.key)) return pair.key.range?.[0];
    }
    const range = (node as { range?: [number, number, number] }).range;
    if (range) return range[0];
  }
  return undefined;
}

function splitPath(path: string): (string | number)[] {
  return path.split(".").map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function applySetsToObject(obj: Record<string, unknown>, sets: readonly string[]): Record<string, unknown> {
  for (const set of sets) {
    const eq = set.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--set ${set}: expected key.path=value`);
    const path = splitPath(set.slice(0, eq));
    let cur = obj as Record<string | number, unknown>;
    for (const seg of path.slice(0, -1)) {
      if (cur[seg] === undefined || cur[seg] === null) cur[seg] = {};
      cur = cur[seg] as Record<string | number, unknown>;
    }
    cur[path.at(-1)!] = parse(set.slice(eq + 1));
  }
  return obj;
}

function getAt(value: unknown, path: readonly PropertyKey[]): unknown {
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

async function importModule(path: string): Promise<unknown> {
  if (/\.m?ts$/.test(path)) {
    const { tsImport } = await import("tsx/esm/api");
    return tsImport(pathToFileURL(path).href, import.meta.url);
  }
  return import(pathToFileURL(isAbsolute(path) ? path : resolve(path)).href);
}
