import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Cron } from "croner";
import { type Document, isMap, isPair, isScalar, LineCounter, parse, parseDocument, visit } from "yaml";
import { ConfigError } from "../errors.js";
import { afterCycle } from "./after-graph.js";
import { applySetsToObject, type ConfigSet, parseSets, setAt } from "./config-sets.js";
import { dedupProblems } from "./dedup-checks.js";
import { describeIssue, formatPath, type Locate } from "./describe-issue.js";
import { lakeProblems } from "./lake-checks.js";
import { pathProblems } from "./path-checks.js";
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
    const sets = parsedSets(options.sets ?? []);
    const value = applySetsToObject(structuredClone(exported) as Record<string, unknown>, sets);
    return finish(value, path, byPath(path, sets));
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
  if (problems.length) throw new ConfigError(problems.join("\n"), "set the variable, or give a default: ${VAR:-value}");
  const sets = parsedSets(options.sets ?? []);
  for (const set of sets) {
    try {
      doc.setIn(set.path, doc.createNode(set.value));
    } catch (err) {
      throw new ConfigError(`--set ${set.text}: cannot set ${formatPath(set.path)}: ${(err as Error).message}`);
    }
  }
  const value = (doc.toJS() ?? {}) as unknown;
  const inFile: Locate = (issuePath, key) => where(offsetOf(doc, issuePath, key));
  return finish(value, path, (issuePath, key) => {
    const set = setAt(sets, issuePath, key);
    return set ? `--set ${set.text}` : inFile(issuePath, key);
  });
}

/** Parses `--set` arguments; a malformed one is a ConfigError saying what `--set` takes. */
function parsedSets(args: readonly string[]): ConfigSet[] {
  const { sets, problems } = parseSets(args);
  if (problems.length) throw new ConfigError(problems.join("\n"));
  return sets;
}

/** Locates problems of a config given as an object: `file: path`, or the `--set` that put the value there. */
function byPath(path: string, sets: readonly ConfigSet[]): Locate {
  return (issuePath, key) => {
    const set = setAt(sets, issuePath, key);
    return set ? `--set ${set.text}` : `${path}: ${formatPath(issuePath) || "(top level)"}`;
  };
}

/** Validates a config given as an object (TypeScript API, tests). */
export function validateConfigObject(value: unknown, path: string): LoadedConfig {
  return finish(value, path, byPath(path, []));
}

function finish(value: unknown, path: string, where: Locate): LoadedConfig {
  const result = configSpec.safeParse(value);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, value, where));
    throw new ConfigError(lines.join("\n"), "see `sluice schema` for every key, or the README's config section");
  }
  const config = result.data;
  const problems = [
    ...semanticChecks(config),
    ...pathProblems(config),
    ...lakeProblems(config),
    ...dedupProblems(config),
  ].map(({ at, message }) => `${where(at)}: ${message}`);
  if (problems.length) throw new ConfigError(problems.join("\n"));
  const dir = dirname(path);
  const dataDir = resolve(dir, config.data_dir);
  const warehousePath = config.warehouse ? resolve(dir, config.warehouse) : join(dataDir, "duckdb", "analytics.duckdb");
  return { path, dir, config, dataDir, warehousePath };
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
    const cycle = afterCycle(config);
    if (cycle?.[0] === name) {
      out.push({
        at: ["pipelines", name, "after"],
        message: `\`after\` forms a cycle: ${cycle.join(" -> ")}; a pipeline cannot run after itself, directly or through others`,
      });
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

export { formatPath };

async function importModule(path: string): Promise<unknown> {
  if (/\.m?ts$/.test(path)) {
    const { tsImport } = await import("tsx/esm/api");
    return tsImport(pathToFileURL(path).href, import.meta.url);
  }
  return import(pathToFileURL(isAbsolute(path) ? path : resolve(path)).href);
}
