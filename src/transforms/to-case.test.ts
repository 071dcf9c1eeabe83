import { describe, expect, it } from "vitest";
import { toCase } from "./to-case.js";

describe("toCase", () => {
  it("converts camelCase and acronyms to snake_case", () => {
    expect(toCase("userId", "snake_case")).toBe("user_id");
    expect(toCase("eventType", "snake_case")).toBe("event_type");
    expect(toCase("HTTPStatus", "snake_case")).toBe("http_status");
    expect(toCase("userID", "snake_case")).toBe("user_id");
    expect(toCase("utm2Source", "snake_case")).toBe("utm2_source");
    expect(toCase("Event Type", "snake_case")).toBe("event_type");
    expect(toCase("already_snake", "snake_case")).toBe("already_snake");
  });

  it("converts snake_case to camelCase and round-trips", () => {
    expect(toCase("user_id", "camelCase")).toBe("userId");
    expect(toCase("event_type", "camelCase")).toBe("eventType");
    expect(toCase("http_status", "camelCase")).toBe("httpStatus");
    expect(toCase("userId", "camelCase")).toBe("userId");
    for (const name of ["userId", "eventType", "experimentPhase", "durationMs"]) {
      expect(toCase(toCase(name, "snake_case"), "camelCase")).toBe(name);
    }
  });

  it("leaves sluice's own `_` columns alone", () => {
    expect(toCase("_source_pos", "camelCase")).toBe("_source_pos");
    expect(toCase("_unmapped_customerId", "snake_case")).toBe("_unmapped_customerId");
  });
});
