import { chaosSpec } from "../../config/spec.js";
import { suggest } from "../../config/suggest.js";
import { ConfigError } from "../../errors.js";
import type { ChaosConfig } from "./generation-plan.js";

const KEYS = ["seed", "dup_rate", "out_of_order_rate", "invalid_rate", "missing_rate", "delay_ms", "jitter_ms"];

/**
 * Parses the command line's `--chaos` text into the same object the config's
 * `chaos:` holds, checked by the same spec:
 *
 *   dup_rate=0.1,out_of_order_rate=0.1,invalid_rate=0.02,missing_rate=0.03
 *   dup_rate=0.05..0.15                  a range: the rate is picked from the seed
 *   missing_rate.user_id=0.03            per column
 *
 * Throws ConfigError (exit 2) naming the bad part.
 */
export function parseChaos(text: string): ChaosConfig {
  const out: Record<string, unknown> = {};
  for (const part of text.split(",").map((p) => p.trim())) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) throw usage(`\`${part}\` is not key=value`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    const [base, column] = key.split(".", 2) as [string, string | undefined];
    if (!KEYS.includes(base)) {
      const guess = suggest(base, KEYS);
      throw usage(`unknown key \`${base}\`${guess ? `, did you mean \`${guess}\`?` : ""}`);
    }
    const value = parseValue(raw, part);
    if (column !== undefined) {
      if (base !== "missing_rate" || typeof value !== "number") {
        throw usage(`\`${part}\`: only missing_rate takes a column (missing_rate.COLUMN=RATE)`);
      }
      const current = out.missing_rate;
      if (typeof current === "number") throw usage("give missing_rate either overall or per column, not both");
      out.missing_rate = { ...((current as Record<string, number> | undefined) ?? {}), [column]: value };
    } else {
      if (base === "missing_rate" && typeof out.missing_rate === "object") {
        throw usage("give missing_rate either overall or per column, not both");
      }
      out[base] = value;
    }
  }
  const parsed = chaosSpec.safeParse(out);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw usage(`${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

function parseValue(raw: string, part: string): number | [number, number] {
  const range = raw.split("..");
  if (range.length === 2) return [num(range[0]!, part), num(range[1]!, part)];
  return num(raw, part);
}

function num(raw: string, part: string): number {
  const value = Number(raw.trim());
  if (raw.trim() === "" || !Number.isFinite(value)) throw usage(`\`${part}\`: \`${raw}\` is not a number`);
  return value;
}

function usage(message: string): ConfigError {
  return new ConfigError(
    `--chaos: ${message}`,
    "e.g. --chaos dup_rate=0.1,out_of_order_rate=0.05,invalid_rate=0.02,missing_rate.userId=0.03 (ranges: dup_rate=0.05..0.15)",
  );
}
