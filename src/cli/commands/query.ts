import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { findConfigFile, loadConfig } from "../../config/load-config.js";
import { Engine } from "../../engine/engine.js";
import { ident } from "../../engine/sql.js";
import { ConfigError, SluiceError } from "../../errors.js";
import { deltaScanSql, readDeltaSnapshot } from "../../lake/delta/index.js";
import { action, collect } from "../action.js";
import { formatRows } from "../format-rows.js";
import { queryRows } from "../query-rows.js";

interface QueryFlags {
  config?: string;
  format: string;
  warehouse?: string;
  delta?: string[];
}

export function register(program: Command): void {
  program
    .command("query")
    .description("Run SQL against the DuckDB warehouse (read-only).")
    .argument("<sql>", "a DuckDB query")
    .option("-c, --config <file>", "config file whose `warehouse` to query (default: ./sluice.yaml)")
    .option("--warehouse <file>", "query this DuckDB file instead")
    .option("--format <format>", "table | csv | json", "table")
    .option(
      "--delta <name=path[@version|@timestamp]>",
      "a Delta table as view NAME, at its latest version or as of a version / ISO timestamp (repeatable)",
      collect,
    )
    .addHelpText(
      "after",
      `\nExamples:\n  sluice query "SELECT eventType, count(*) FROM research.behavioral_events GROUP BY ALL" --format json\n  sluice query --delta ev=data/lake/events@3 "SELECT count(*) FROM ev"   # time travel to version 3\n  sluice query -- "$(cat its.sql)"   # SQL that starts with a -- comment goes after --`,
    )
    .action(
      action(async (sql: string, flags: QueryFlags) => {
        if (!["table", "csv", "json"].includes(flags.format)) {
          throw new ConfigError(`--format ${flags.format}: expected table, csv or json`);
        }
        const path = flags.warehouse ? resolve(flags.warehouse) : await warehouseOf(flags.config);
        const deltas = (flags.delta ?? []).map(parseDelta);
        if (!existsSync(path) && deltas.length === 0) {
          throw new SluiceError(`the warehouse ${path} does not exist yet`, {
            component: "query",
            stage: "query",
            hint: "run a pipeline with a duckdb sink first (`sluice run`)",
          });
        }
        const engine = await Engine.open(existsSync(path) ? { path, readOnly: true } : {});
        try {
          for (const d of deltas) {
            const snapshot = await readDeltaSnapshot(d.root, d.asOf, engine);
            await engine.run(`CREATE TEMP VIEW ${ident(d.name)} AS SELECT * FROM ${deltaScanSql(snapshot)}`, "query");
          }
          const { rows, jsonColumns } = await queryRows(engine, sql);
          process.stdout.write(formatRows(rows, flags.format as "table" | "csv" | "json", { jsonColumns }));
        } finally {
          engine.close();
        }
        return 0;
      }),
    );
}

async function warehouseOf(config: string | undefined): Promise<string> {
  try {
    return (await loadConfig(findConfigFile(config), { allowMissingEnv: true })).warehousePath;
  } catch (err) {
    if (config === undefined && err instanceof ConfigError && err.message.startsWith("no sluice.yaml")) {
      return resolve("data/duckdb/analytics.duckdb");
    }
    throw err;
  }
}

/** `name=path`, `name=path@3` (version) or `name=path@2026-03-01T00:00:00Z` (timestamp). */
function parseDelta(spec: string): { name: string; root: string; asOf: { version?: number; timestamp?: string } } {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=([^@]+)(?:@(.+))?$/.exec(spec);
  if (!m) throw new ConfigError(`--delta ${spec}: expected name=path, name=path@version or name=path@timestamp`);
  const [, name, path, at] = m;
  const asOf = at === undefined ? {} : /^\d+$/.test(at) ? { version: Number(at) } : { timestamp: at };
  return { name: name!, root: resolve(path!), asOf };
}
