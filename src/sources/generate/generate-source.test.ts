import { afterEach, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import type { RunContext, RunOptions } from "../../plan/batch-context.js";
import { GenerateSource } from "./generate-source.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

async function context(options: RunOptions = {}): Promise<RunContext> {
  const engine = await Engine.open();
  engines.push(engine);
  let n = 0;
  // The source reads only these members of the run context.
  return { engine, options, tmpName: (prefix: string) => `${prefix}_${++n}` } as unknown as RunContext;
}

describe("GenerateSource", () => {
  it("creates the dataset as a table with real types and _source_pos, as the whole batch", async () => {
    const ctx = await context();
    const source = new GenerateSource({
      type: "generate",
      dataset: "behavioral_events",
      rows: 500,
      seed: 3,
      days: 30,
      anchor: "2025-06-01",
    });
    const r = await source.extract(ctx);
    expect(r).toMatchObject({
      rows: 500,
      extent: "replace",
      description: "generate behavioral_events (500 rows, seed 3)",
    });
    const cols = await ctx.engine.columns(r.relation);
    expect(cols.map((c) => c.name)).toEqual([
      ...["id", "userId", "sessionId", "eventType", "eventData", "timestamp", "experimentPhase", "lessonId"],
      ...["cardId", "durationMs", "score", "completed", "deviceType", "createdAt", "updatedAt", "_source_pos"],
    ]);
    expect(cols.find((c) => c.name === "timestamp")?.type).toBe("TIMESTAMP WITH TIME ZONE");
    const [first] = await ctx.engine.all<{ pos: string; lo: Date }>(
      `SELECT min(_source_pos) FILTER (WHERE _source_pos = 'row 1') AS pos, min("timestamp") AS lo FROM ${r.relation}`,
    );
    expect(first?.pos).toBe("row 1");
    expect(first!.lo.getTime()).toBeGreaterThanOrEqual(Date.parse("2025-05-02T00:00:00Z"));
    expect(await source.check()).toBe(
      "generate behavioral_events: 500 rows, seed 3, 30 days to 2025-06-01T00:00:00.000Z",
    );
  });

  it("keeps one user's rows for --user-id and widens the window for --days", async () => {
    const config = {
      type: "generate",
      dataset: "behavioral_events",
      rows: 2000,
      seed: 42,
      days: 10,
      anchor: "2025-06-01",
    } as const;
    const ctx = await context({ days: 40 });
    const full = await new GenerateSource(config).extract(ctx);
    const [top] = await ctx.engine.all<{ u: string; n: bigint; lo: Date }>(
      `SELECT "userId" AS u, count(*) AS n, (SELECT min("timestamp") FROM ${full.relation}) AS lo
       FROM ${full.relation} GROUP BY ALL ORDER BY n DESC, u LIMIT 1`,
    );
    expect(top!.lo.getTime()).toBeLessThan(Date.parse("2025-05-22T00:00:00Z")); // 40 days back, not 10
    const one = await new GenerateSource(config).extract(await context({ userId: top!.u, days: 40 }));
    expect(one.rows).toBe(Number(top!.n));
    expect(one.description).toContain(`user ${top!.u}`);
    expect((await new GenerateSource(config).extract(await context({ userId: "nobody" }))).rows).toBe(0);
  });
});
