import { describe, expect, it } from "vitest";
import { widenedType } from "./widen-columns.js";

describe("widenedType", () => {
  it("widens only without loss", () => {
    expect(widenedType("INTEGER", "BIGINT")).toBe("BIGINT");
    expect(widenedType("BIGINT", "DOUBLE")).toBe("DOUBLE");
    expect(widenedType("FLOAT", "DOUBLE")).toBe("DOUBLE");
    expect(widenedType("DECIMAL(10,2)", "DECIMAL(12,1)")).toBe("DECIMAL(13,2)");
    expect(widenedType("INTEGER", "DECIMAL(5,2)")).toBe("DECIMAL(12,2)");
    expect(widenedType("BIGINT", "INTEGER")).toBeUndefined();
    expect(widenedType("DOUBLE", "BIGINT")).toBeUndefined();
    expect(widenedType("BIGINT", "VARCHAR")).toBeUndefined();
    expect(widenedType("DECIMAL(12,2)", "DECIMAL(10,2)")).toBeUndefined();
    expect(widenedType("DECIMAL(38,2)", "DECIMAL(38,10)")).toBeUndefined();
  });
});
