import type { Command } from "commander";
import { z } from "zod";
import { configSpec } from "../../config/spec.js";
import { action } from "../action.js";

/** The JSON Schema of the config file, generated from the same spec that validates it. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSpec, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

export function register(program: Command): void {
  program
    .command("schema")
    .description("Print the JSON Schema of sluice.yaml (for editor completion and checks).")
    .addHelpText(
      "after",
      "\nExample:\n  sluice schema > sluice.schema.json   # then: # yaml-language-server: $schema=./sluice.schema.json",
    )
    .action(
      action(async () => {
        process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
        return 0;
      }),
    );
}
