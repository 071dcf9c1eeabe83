import { describe, expect, it } from "vitest";
import { ConfigError } from "../../errors.js";
import { parseChaos } from "./parse-chaos.js";

describe("parseChaos", () => {
  it("reads rates, ranges and per-column missing rates into the config's chaos shape", () => {
    expect(
      parseChaos("dup_rate=0.1, out_of_order_rate=0.05..0.15,invalid_rate=0.02,missing_rate.user_id=0.03"),
    ).toEqual({
      dup_rate: 0.1,
      out_of_order_rate: [0.05, 0.15],
      invalid_rate: 0.02,
      missing_rate: { user_id: 0.03 },
    });
    expect(parseChaos("missing_rate=0.03,seed=7")).toEqual({ missing_rate: 0.03, seed: 7 });
  });

  it.each([
    ["dup_rat=0.1", "unknown key `dup_rat`, did you mean `dup_rate`?"],
    ["dup_rate", "`dup_rate` is not key=value"],
    ["dup_rate=lots", "`lots` is not a number"],
    ["missing_rate=0.1,missing_rate.a=0.2", "either overall or per column"],
    ["dup_rate.a=0.1", "only missing_rate takes a column"],
    ["seed=1.5", "seed"],
  ])("%s -> ConfigError", (text, message) => {
    const err = (() => {
      try {
        parseChaos(text);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(message);
    expect((err as ConfigError).exitCode).toBe(2);
  });
});
