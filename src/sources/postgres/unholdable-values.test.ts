import { describe, expect, it } from "vitest";
import { unholdableValueError } from "./unholdable-values.js";

describe("unholdableValueError", () => {
  it("names the real column instead of read_csv's c<i>, and drops DuckDB's sample_size advice", () => {
    const duck = new Error(`Conversion Error: CSV Error on Line: 1
Original Line: 1,abc
Error when converting column "c1". Could not convert string "abc" to 'INTEGER'

Possible solutions:
* Set the sample size to a larger value to enable the auto-detection to scan more values, e.g., sample_size=-1`);
    const e = unholdableValueError(duck, ["id", "score"]);
    expect(e!.message).toBe('column "score" holds "abc", which DuckDB cannot load as INTEGER');
    expect(e!.hint).toContain("cast it in `query`");
    expect(e!.hint).toContain("contract rule that quarantines it");
    expect(`${e!.message}${e!.hint}`).not.toMatch(/sample_size|\bc1\b|Original Line/);
  });

  it("leaves other errors alone", () => {
    expect(unholdableValueError(new Error("Connection terminated unexpectedly"), ["id"])).toBeUndefined();
  });
});
