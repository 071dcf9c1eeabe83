import { Cron } from "croner";
import { describe, expect, it } from "vitest";
import { missedFires } from "./missed-fires.js";

// Missed fires with a fixed clock: time zones and seconds follow the schedule.

describe("missedFires", () => {
  const cron = (pattern: string, timezone?: string) =>
    new Cron(pattern, { paused: true, ...(timezone ? { timezone } : {}) });

  it("counts the fires after the last recorded one up to now, first and last", () => {
    const m = missedFires(cron("0 * * * *", "UTC"), new Date("2026-03-01T10:00:00Z"), new Date("2026-03-01T14:30:00Z"));
    expect(m).toEqual({ count: 4, first: new Date("2026-03-01T11:00:00Z"), last: new Date("2026-03-01T14:00:00Z") });
  });

  it("reads the schedule in its time zone (09:00 Berlin is 08:00 UTC in winter)", () => {
    const m = missedFires(
      cron("0 9 * * *", "Europe/Berlin"),
      new Date("2026-01-10T12:00:00Z"),
      new Date("2026-01-13T12:00:00Z"),
    );
    expect(m?.count).toBe(3);
    expect(m?.first).toEqual(new Date("2026-01-11T08:00:00Z"));
  });

  it("counts per-second schedules (6 fields) and stops counting at 10,000", () => {
    const last = new Date("2026-03-01T00:00:00Z");
    expect(missedFires(cron("* * * * * *"), last, new Date("2026-03-01T00:00:05Z"))?.count).toBe(5);
    const week = missedFires(cron("* * * * * *"), last, new Date("2026-03-08T00:00:00Z"));
    expect(week?.count).toBe(10_000);
    expect(week?.last).toEqual(new Date("2026-03-08T00:00:00Z"));
  });

  it("misses nothing on a first start, or when no fire came due", () => {
    expect(missedFires(cron("0 * * * *"), undefined, new Date())).toBeUndefined();
    const m = missedFires(cron("0 * * * *", "UTC"), new Date("2026-03-01T10:00:00Z"), new Date("2026-03-01T10:59:59Z"));
    expect(m).toBeUndefined();
  });
});
