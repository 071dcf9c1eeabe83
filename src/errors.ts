/**
 * The one error type sluice raises for anything a user can act on.
 *
 * Every error names the component and stage it came from and carries a hint
 * (what to do). `transient` marks errors worth retrying (connection reset,
 * timeout); the retry loop reads this flag, never the message text.
 * `exitCode` is what the CLI exits with: 1 run failed, 2 usage/config,
 * 3 validation failed in strict mode.
 */
export class SluiceError extends Error {
  readonly component: string;
  readonly stage: string;
  readonly hint: string | undefined;
  readonly transient: boolean;
  /**
   * For a transient error: how long until a retry can succeed, when the source of the error knows
   * (an HTTP API's circuit breaker cooldown, a Retry-After). Drivers wait about this long rather
   * than their own backoff, which may be far longer or shorter.
   */
  readonly retryAfterMs: number | undefined;
  readonly exitCode: 1 | 2 | 3;

  constructor(
    message: string,
    opts: {
      component?: string;
      stage?: string;
      hint?: string;
      transient?: boolean;
      retryAfterMs?: number;
      exitCode?: 1 | 2 | 3;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "SluiceError";
    this.component = opts.component ?? "sluice";
    this.stage = opts.stage ?? "run";
    this.hint = opts.hint;
    this.transient = opts.transient ?? false;
    this.retryAfterMs = opts.retryAfterMs;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** Configuration or usage problem: exit code 2. */
export class ConfigError extends SluiceError {
  constructor(message: string, hint?: string) {
    super(message, { component: "config", stage: "config", hint, exitCode: 2 });
    this.name = "ConfigError";
  }
}

/** Strict validation found failing rows: exit code 3, nothing was written. */
export class ValidationFailedError extends SluiceError {
  readonly reportPath: string;
  readonly failedRows: number;
  constructor(message: string, reportPath: string, failedRows: number) {
    super(message, {
      component: "contract",
      stage: "validate",
      hint: `See the failure report at ${reportPath}; fix the source rows, or run with --non-strict to quarantine them.`,
      exitCode: 3,
    });
    this.name = "ValidationFailedError";
    this.reportPath = reportPath;
    this.failedRows = failedRows;
  }
}

/** A write failed for lack of disk space: the user's to fix, never retried, never a stack trace. */
export class DiskFullError extends SluiceError {
  constructor(err: unknown, component: string, stage: string) {
    const message = err instanceof Error ? err.message : String(err);
    super(`no space left on the disk while ${stage === "run" ? "running" : `in stage ${stage}`}: ${message}`, {
      component,
      stage,
      hint: "free space on the disk that holds data_dir (or point data_dir elsewhere), then run again: nothing was committed, and the next run removes what this one left",
      cause: err,
    });
    this.name = "DiskFullError";
  }
}

/** Wraps anything thrown into a SluiceError, keeping an existing one as is (a full disk is said plainly). */
export function asSluiceError(err: unknown, component: string, stage: string): SluiceError {
  if (isDiskFull(err) && !(err instanceof DiskFullError)) {
    return err instanceof SluiceError
      ? new DiskFullError(err, err.component, err.stage)
      : new DiskFullError(err, component, stage);
  }
  if (err instanceof SluiceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SluiceError(message, { component, stage, cause: err });
}

/** A write failed because the disk (or the user's quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return code === "ENOSPC" || code === "EDQUOT" || /No space left on device|ENOSPC/i.test(message);
}
