import type { Cron } from "croner";

/** Scheduled times that passed while no server ran. */
export interface MissedFires {
  readonly count: number;
  readonly first: Date;
  readonly last: Date;
}

/** Counting stops here: a per-second schedule down for a week is "at least 10000". */
const MAX_COUNTED = 10_000;

/**
 * The fires of `cron` strictly after `lastFire` and at or before `now`, or undefined when there are
 * none (or no fire was ever recorded: a first start misses nothing). Counted with croner's own
 * iteration, so time zones and DST follow the schedule; the count stops at MAX_COUNTED.
 */
export function missedFires(cron: Cron, lastFire: Date | undefined, now: Date): MissedFires | undefined {
  if (!lastFire || lastFire >= now) return undefined;
  let count = 0;
  let first: Date | undefined;
  let last: Date | undefined;
  let at: Date | null = cron.nextRun(lastFire);
  while (at && at <= now && count < MAX_COUNTED) {
    first ??= at;
    last = at;
    count++;
    at = cron.nextRun(at);
  }
  if (!first || !last) return undefined;
  // The newest fire at or before now (previousRuns excludes its reference instant itself).
  if (count === MAX_COUNTED) last = cron.previousRuns(1, new Date(now.getTime() + 1))[0] ?? last;
  return { count, first, last };
}
