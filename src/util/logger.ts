import { pino } from "pino";
import { type TerminalStream, writeAboveProgress } from "./progress.js";
import { redactSecrets } from "./redact.js";

export type Logger = pino.Logger;

/**
 * Structured logs on stderr (stdout is reserved for `--json` output and
 * command results). JSON lines when stderr is not a terminal; a short
 * human line when it is, written above the progress line if one is shown
 * (never on the same line). Level from LOG_LEVEL (default info). Every message
 * passes through redactSecrets, so a URL with a password never reaches a log.
 * `stream` is stderr except in tests.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? "info", stream: TerminalStream = process.stderr): Logger {
  const pretty = stream.isTTY === true;
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
    pretty
      ? prettyStream(stream)
      : stream === process.stderr
        ? pino.destination({ fd: 2, sync: true })
        : { write: (line: string) => stream.write(line) },
  );
}

function prettyStream(stream: TerminalStream): pino.DestinationStream {
  return {
    write(line: string) {
      try {
        const { level, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const extra = Object.keys(rest).length ? ` ${redactSecrets(JSON.stringify(rest))}` : "";
        const tag = level === "info" ? "" : `${String(level).toUpperCase()} `;
        writeAboveProgress(stream, `${tag}${String(msg)}${extra}\n`);
      } catch {
        writeAboveProgress(stream, line);
      }
    },
  };
}

/** A logger that drops everything (library use without logs). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
