import { asSluiceError, isDiskFull, SluiceError } from "../errors.js";
import { redactSecrets } from "../util/redact.js";

/**
 * Wraps a command's action: a SluiceError prints `error: ...` and its hint on
 * stderr and exits with the error's code (1 run failed, 2 usage/config,
 * 3 strict validation failed); anything else is a bug and exits 1 with the stack.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined>) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (raw) {
      // A full disk is the user's to fix, not a bug: no stack trace.
      const err = isDiskFull(raw) ? asSluiceError(raw, "sluice", "run") : raw;
      if (err instanceof SluiceError) {
        process.stderr.write(`error: ${redactSecrets(err.message)}\n`);
        if (err.hint) process.stderr.write(`hint: ${redactSecrets(err.hint)}\n`);
        process.exitCode = err.exitCode;
      } else {
        process.stderr.write(
          `internal error: ${redactSecrets(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`,
        );
        process.exitCode = 1;
      }
    }
  };
}

/** Collects a repeatable option (`--set a=1 --set b=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
