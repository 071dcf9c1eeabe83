import { ConfigError } from "../errors.js";

/**
 * The instant sources take as "now" for data: where a postgres `window`
 * counts its `days` back from, and the day generated timestamps end at by
 * default. `SLUICE_NOW` (an ISO date or instant) pins it, so tests and demos
 * get the same rows at any time of day; unset, it is `fallback` (the run's
 * start). Throws ConfigError (exit 2) when SLUICE_NOW does not parse.
 */
export function sluiceNow(fallback: Date = new Date()): Date {
  const pinned = process.env.SLUICE_NOW;
  if (pinned === undefined || pinned.trim() === "") return fallback;
  const ms = Date.parse(pinned);
  if (Number.isNaN(ms)) {
    throw new ConfigError(
      `SLUICE_NOW=${pinned} is not an ISO date or instant`,
      "e.g. SLUICE_NOW=2025-06-01T12:00:00Z, or unset it to use the clock",
    );
  }
  return new Date(ms);
}
