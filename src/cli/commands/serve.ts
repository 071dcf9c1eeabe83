import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { startServe } from "../../server/serve.js";
import { createLogger } from "../../util/logger.js";
import { action } from "../action.js";

interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  http?: boolean;
}

export function register(program: Command): void {
  program
    .command("serve")
    .description(
      "Run the pipelines on their schedules (cron, `after:`), streaming pipelines as supervised workers, and the dashboard, until SIGINT/SIGTERM.",
    )
    .option("-c, --config <file>", "config file (default: ./sluice.yaml)")
    .option("--host <address>", "dashboard address (default: serve.host, 127.0.0.1; another needs SLUICE_TOKEN)")
    .option("--port <n>", "dashboard port (default: serve.port, 4200)")
    .option("--no-http", "no dashboard: only the scheduler and the stream workers")
    .addHelpText(
      "after",
      "\nEach run is a `sluice run` child process holding the pipeline's lock: a manual `sluice run` of a\npipeline the server is running is refused, naming the running run. SIGINT or SIGTERM stops scheduling,\nlets running runs finish, stops the stream workers at a micro-batch boundary and exits 0.\n\nExample:\n  sluice serve -c sluice.yaml --port 4200",
    )
    .action(
      action(async (flags: ServeFlags) => {
        const log = createLogger();
        const serve = await startServe({
          ...(flags.config ? { configPath: flags.config } : {}),
          ...(flags.host ? { host: flags.host } : {}),
          ...(flags.port !== undefined ? { port: parsePort(flags.port) } : {}),
          http: flags.http !== false,
          log,
        });
        await untilSignal();
        await serve.stop();
        return 0;
      }),
    );
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once (130) without waiting. */
function untilSignal(): Promise<void> {
  return new Promise((done) => {
    const first = () => {
      process.off("SIGINT", first);
      process.off("SIGTERM", first);
      process.on("SIGINT", () => process.exit(130));
      process.on("SIGTERM", () => process.exit(130));
      done();
    };
    process.once("SIGINT", first);
    process.once("SIGTERM", first);
  });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`--port ${value}: a port number from 0 to 65535`);
  }
  return port;
}
