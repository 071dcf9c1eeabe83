import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { findConfigFile, loadConfig } from "../../config/load-config.js";
import { Engine } from "../../engine/engine.js";
import { ConfigError, SluiceError } from "../../errors.js";
import { action } from "../action.js";
import { formatRows } from "../format-rows.js";
import { queryRows } from "../query-rows.js";

interface QueryFlags {
  config?: string;
  format: string;
  warehouse?: string;
}

export function register(program: Command): void {
  program
    .command("query")
    .description("Run SQL against the DuckDB warehouse (read-only).")
    .argument("<sql>", "a DuckDB query")
    .option("-c, --config <file>", "config file whose `warehouse` to query (default: ./sluice.yaml)")
    .option("--warehouse <file>", "query this DuckDB file instead")
    .option("--format <format>", "table | csv | json", "table")
    .addHelpText(
      "after",
      `\nExamples:\n  sluice query "SELECT eventType, count(*) FROM research.behavioral_events GROUP BY ALL" --format json\n  sluice query -- "$(cat its.sql)"   # SQL that starts with a -- comment goes after --`,
    )
    .action(
      action(async (sql: string, flags: QueryFlags) => {
        if (!["table", "csv", "json"].includes(flags.format)) {
          throw new ConfigError(`--format ${flags.format}: expected table, csv or json`);
        }
        const path = flags.warehouse ? resolve(flags.warehouse) : await warehouseOf(flags.config);
        if (!existsSync(path)) {
          throw new SluiceError(`the warehouse ${path} does not exist yet`, {
            component: "query",
            stage: "query",
            hint: "run a pipeline with a duckdb sink first (`sluice run`)",
          });
        }
        const engine = await Engine.open({ path, readOnly: true });
        try {
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
