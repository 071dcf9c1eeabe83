import type { GenerateSourceConfig } from "../../config/spec.js";
import { suggest } from "../../config/suggest.js";
import { ConfigError } from "../../errors.js";
import { sluiceNow } from "../sluice-now.js";
import { mix64 } from "./dimension-ids.js";

/** Chaos options as configured (`chaos:` in YAML, `--chaos k=v,...` on the command line). */
export type ChaosConfig = NonNullable<GenerateSourceConfig["chaos"]>;

/** What to generate. Defaults as in the config spec (`generateSourceSpec`). */
export interface GenerateOptions {
  readonly dataset: string;
  readonly rows: number;
  /** Default 42. Same seed (and anchor) -> same rows, same bytes. */
  readonly seed?: number;
  /** ISO instant the timestamps end at; default: start of the current UTC day (of SLUICE_NOW when set). */
  readonly anchor?: string;
  /** Span of the timestamps, in days before the anchor; default 90. */
  readonly days?: number;
  /** Distinct users (accounts, keys); default rows / 50, between 1 and 100,000. */
  readonly users?: number;
  readonly chaos?: ChaosConfig;
}

/** Chaos rates after picking values from ranges (reproducibly, from the chaos seed). */
export interface ResolvedChaos {
  /** Share of rows that are copies of an earlier row (same key), at most 0.5. */
  readonly dupRate: number;
  /** Share of records whose timestamp is earlier than their position says (late arrivals). */
  readonly outOfOrderRate: number;
  /** Share of records that break the dataset's contract (see Dataset.invalidKinds). */
  readonly invalidRate: number;
  /** Share of NULLs per column. */
  readonly missing: Readonly<Record<string, number>>;
}

/** Everything the SQL of a dataset depends on, resolved and validated. */
export interface GenerationPlan {
  readonly dataset: string;
  readonly rows: number;
  readonly seed: number;
  /** Epoch milliseconds of the anchor (exclusive end of the generated window). */
  readonly anchorMs: number;
  readonly anchorIso: string;
  readonly days: number;
  /** Window length in milliseconds. */
  readonly spanMs: number;
  readonly users: number;
  readonly chaos: ResolvedChaos;
}

const DAY_MS = 86_400_000;

/** Start of the current UTC day (of SLUICE_NOW when set): the default anchor, stable for a whole day. */
export function defaultAnchor(now = sluiceNow()): string {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS).toISOString();
}

/**
 * Validates options and resolves defaults and chaos ranges. `columns` and
 * `key` are the dataset's, for per-column missing rates.
 * Throws ConfigError (exit 2) naming the option and the accepted values.
 */
export function planGeneration(
  options: GenerateOptions,
  dataset: { readonly columns: readonly { name: string }[]; readonly key: string },
): GenerationPlan {
  const rows = options.rows;
  if (!Number.isSafeInteger(rows) || rows < 0) {
    throw new ConfigError(`rows: expected a whole number >= 0, got ${rows}`, "e.g. --rows 1000000");
  }
  const seed = options.seed ?? 42;
  if (!Number.isSafeInteger(seed)) throw new ConfigError(`seed: expected a whole number, got ${seed}`);
  const days = options.days ?? 90;
  if (!(Number.isFinite(days) && days > 0)) throw new ConfigError(`days: expected a number > 0, got ${days}`);
  const anchorIso = options.anchor ?? defaultAnchor();
  const anchorMs = Date.parse(anchorIso);
  if (Number.isNaN(anchorMs)) {
    throw new ConfigError(
      `anchor: \`${anchorIso}\` is not an ISO date or instant`,
      "e.g. --anchor 2025-06-01 or --anchor 2025-06-01T00:00:00Z",
    );
  }
  const spanMs = Math.round(days * DAY_MS);
  // Generated ids hold 8 base-36 digits of epoch ms (< 2059), and users sign up
  // up to two years before the window; invalid rows lie ten years after it.
  if (anchorMs - spanMs < Date.UTC(1972, 0, 1) || anchorMs > Date.UTC(2049, 0, 1)) {
    throw new ConfigError(
      `anchor/days: the window ${new Date(anchorMs - spanMs).toISOString()} .. ${new Date(anchorMs).toISOString()} must lie between 1972 and 2049`,
      "use a later anchor or fewer days",
    );
  }
  const users = options.users ?? Math.min(100_000, Math.max(1, Math.ceil(rows / 50)));
  if (!Number.isSafeInteger(users) || users < 1)
    throw new ConfigError(`users: expected a whole number >= 1, got ${users}`);
  const chaos = resolveChaos(options.chaos ?? {}, seed, dataset);
  return {
    dataset: options.dataset,
    rows,
    seed,
    anchorMs,
    anchorIso: new Date(anchorMs).toISOString(),
    days,
    spanMs,
    users,
    chaos,
  };
}

function resolveChaos(
  chaos: ChaosConfig,
  seed: number,
  dataset: { readonly columns: readonly { name: string }[]; readonly key: string },
): ResolvedChaos {
  const chaosSeed = chaos.seed ?? seed;
  const dupRate = pickRate("dup_rate", chaos.dup_rate, chaosSeed, 1, 0.5);
  const outOfOrderRate = pickRate("out_of_order_rate", chaos.out_of_order_rate, chaosSeed, 2, 1);
  const invalidRate = pickRate("invalid_rate", chaos.invalid_rate, chaosSeed, 3, 1);
  const names = dataset.columns.map((c) => c.name);
  const missing: Record<string, number> = {};
  if (typeof chaos.missing_rate === "number") {
    const rate = pickRate("missing_rate", chaos.missing_rate, chaosSeed, 4, 1);
    if (rate > 0) for (const n of names) if (n !== dataset.key) missing[n] = rate;
  } else if (chaos.missing_rate) {
    for (const [column, value] of Object.entries(chaos.missing_rate)) {
      if (!names.includes(column)) {
        const guess = suggest(column, names);
        throw new ConfigError(
          `chaos.missing_rate: no column \`${column}\` in this dataset${guess ? `; did you mean \`${guess}\`?` : ""}`,
          `columns: ${names.join(", ")}`,
        );
      }
      const rate = pickRate(`missing_rate.${column}`, value, chaosSeed, 5, 1);
      if (rate > 0) missing[column] = rate;
    }
  }
  return { dupRate, outOfOrderRate, invalidRate, missing };
}

/** A fixed rate, or one picked in [min, max] by a seeded draw (same seed, same pick). */
function pickRate(
  name: string,
  value: number | readonly [number, number] | undefined,
  seed: number,
  salt: number,
  max: number,
): number {
  if (value === undefined) return 0;
  const [lo, hi] = typeof value === "number" ? [value, value] : value;
  if (!(lo >= 0 && hi <= max && lo <= hi)) {
    throw new ConfigError(
      `chaos.${name}: expected a rate between 0 and ${max} (or [min, max] within it), got ${JSON.stringify(value)}`,
      max < 1 ? `${name} is the share of rows that are copies: at most ${max}` : undefined,
    );
  }
  return lo === hi ? lo : lo + (hi - lo) * seededUnit(seed, salt);
}

/** A reproducible draw in [0, 1) from (seed, salt). */
function seededUnit(seed: number, salt: number): number {
  return Number(mix64(seed, salt, 0) >> 11n) / 2 ** 53;
}
