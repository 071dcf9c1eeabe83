import { describe, expect, it } from "vitest";
import { behavioralEvents } from "./behavioral-events.js";
import { defaultAnchor, planGeneration } from "./generation-plan.js";

const plan = (options: Partial<Parameters<typeof planGeneration>[0]>) =>
  planGeneration({ dataset: "behavioral_events", rows: 1000, ...options }, behavioralEvents);

describe("planGeneration", () => {
  it("defaults: seed 42, 90 days to the start of today (UTC), rows / 50 users", () => {
    const p = plan({});
    expect(p).toMatchObject({ seed: 42, days: 90, users: 20, anchorIso: defaultAnchor() });
    expect(defaultAnchor(new Date("2025-03-01T17:45:00+09:00"))).toBe("2025-03-01T00:00:00.000Z");
    expect(p.chaos).toEqual({ dupRate: 0, outOfOrderRate: 0, invalidRate: 0, missing: {} });
  });

  it("ends at the start of SLUICE_NOW's UTC day when it is set", () => {
    const saved = process.env.SLUICE_NOW;
    process.env.SLUICE_NOW = "2025-06-01T12:00:00Z";
    try {
      expect(plan({}).anchorIso).toBe("2025-06-01T00:00:00.000Z");
      process.env.SLUICE_NOW = "noon";
      expect(() => plan({})).toThrow(/SLUICE_NOW=noon is not an ISO date/);
    } finally {
      if (saved === undefined) delete process.env.SLUICE_NOW;
      else process.env.SLUICE_NOW = saved;
    }
  });

  it("picks a rate inside a range, the same for the same seed, another for another seed", () => {
    const a = plan({ seed: 1, chaos: { dup_rate: [0.05, 0.15] } }).chaos.dupRate;
    expect(a).toBeGreaterThanOrEqual(0.05);
    expect(a).toBeLessThanOrEqual(0.15);
    expect(plan({ seed: 1, chaos: { dup_rate: [0.05, 0.15] } }).chaos.dupRate).toBe(a);
    expect(plan({ seed: 2, chaos: { dup_rate: [0.05, 0.15] } }).chaos.dupRate).not.toBe(a);
    expect(plan({ seed: 2, chaos: { seed: 1, dup_rate: [0.05, 0.15] } }).chaos.dupRate).toBe(a);
  });

  it("applies an overall missing rate to every column but the key", () => {
    const missing = plan({ chaos: { missing_rate: 0.03 } }).chaos.missing;
    expect(Object.keys(missing)).toHaveLength(14);
    expect(missing.id).toBeUndefined();
    expect(missing.userId).toBe(0.03);
  });

  it.each([
    [{ rows: -1 }, /rows: expected a whole number >= 0/],
    [{ anchor: "soon" }, /anchor: `soon` is not an ISO date/],
    [{ anchor: "2060-01-01" }, /must lie between 1972 and 2049/],
    [{ days: 0 }, /days: expected a number > 0/],
    [{ chaos: { dup_rate: 0.6 } }, /dup_rate: expected a rate between 0 and 0.5/],
    [{ chaos: { invalid_rate: [0.2, 0.1] as [number, number] } }, /invalid_rate/],
    [{ chaos: { missing_rate: { userid: 0.1 } } }, /no column `userid` in this dataset; did you mean `userId`\?/],
  ])("rejects %j", (options, message) => {
    expect(() => plan(options)).toThrow(message);
  });
});
