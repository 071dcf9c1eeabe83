import { pino } from "pino";
import { redactSecrets } from "./redact.js";

export type Logger = pino.Logger;

/**
 * Structured logs on stderr (stdout is reserved for `--json` output and
 * command results). JSON lines when stderr is not a terminal; a short
 * human line when it is. Level from LOG_LEVEL (default info). Every message
 * passes through redactSecrets, so a URL with a password never reaches a log.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  const pretty = process.stderr.isTTY === true;
  return pino(
    {
      level,
      base: undefined,
      timestamp: pretty ? false : pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === "string" ? redactSecrets(a) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    pretty ? prettyStream() : pino.destination({ fd: 2, sync: true }),
  );
}

function prettyStream(): pino.DestinationStream {
  return {
    write(line: string) {
      try {
        const { level, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const extra = Object.keys(rest).length ? ` ${redactSecrets(JSON.stringify(rest))}` : "";
        const tag = level === "info" ? "" : `${String(level).toUpperCase()} `;
        process.stderr.write(`${tag}${String(msg)}${extra}\n`);
      } catch {
        process.stderr.write(line);
      }
    },
  };
}

/** A logger that drops everything (library use without logs). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
