import type { Command } from "commander";
import { IncidentStore } from "../../quality/alert-incidents.js";
import { checkFreshness } from "../../runner/check-freshness.js";
import { sluiceNow } from "../../sources/sluice-now.js";
import { createLogger } from "../../util/logger.js";
import { action } from "../action.js";
import { loadFromFlags } from "../load.js";

interface AlertsFlags {
  config?: string;
  json?: boolean;
  resolved?: boolean;
}

export function register(program: Command): void {
  program
    .command("alerts")
    .description(
      "Check the freshness alert rules once (notifying their webhooks of incidents that start or resolve) and list the open alert incidents.",
    )
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--resolved", "also list the latest resolved incidents")
    .option("--json", "print { freshness, open, resolved } as JSON")
    .addHelpText(
      "after",
      "\nRun it from cron (e.g. every 15 minutes) when no `sluice serve` checks freshness.\n\nExamples:\n  sluice alerts\n  SLUICE_NOW=2026-03-02T08:05:00Z sluice alerts --json",
    )
    .action(
      action(async (flags: AlertsFlags) => {
        const loaded = await loadFromFlags(flags);
        const log = createLogger();
        const result = await checkFreshness(loaded, sluiceNow(), { log });
        const store = new IncidentStore(loaded.dataDir);
        const pipelines = Object.keys(loaded.config.pipelines);
        const open = store.open(pipelines);
        const resolved = flags.resolved ? store.resolved(pipelines) : [];
        if (flags.json) {
          const out = {
            freshness: result.checks,
            open,
            ...(flags.resolved ? { resolved } : {}),
            warnings: result.warnings,
          };
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return 0;
        }
        for (const c of result.checks) {
          const what = c.problem
            ? `not checked: ${c.problem}`
            : `${c.sink} ${c.column}=${c.partition} ${c.present ? "present" : `MISSING (due ${c.due})`}`;
          process.stdout.write(`freshness ${c.pipeline}: ${what}\n`);
        }
        if (open.length === 0) process.stdout.write("no open alert incidents\n");
        for (const i of open) {
          process.stdout.write(
            `FIRING  ${i.pipeline}  ${i.rule}  since ${i.startsAt}  (${i.count}x, last ${i.lastSeenAt})  ${i.fingerprint}\n  ${i.message}\n`,
          );
        }
        for (const i of resolved) {
          process.stdout.write(`resolved  ${i.pipeline}  ${i.rule}  ${i.startsAt} .. ${i.endsAt}  ${i.fingerprint}\n`);
        }
        return 0;
      }),
    );
}
