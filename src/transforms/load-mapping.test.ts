import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql, type TestPostgres, testPostgres } from "../../test/support/postgres.js";
import { transformSpec } from "../config/spec.js";
import { Engine } from "../engine/engine.js";
import { SluiceError } from "../errors.js";
import { applyTransformSteps } from "./apply-transforms.js";
import type { TransformContext } from "./transform.js";

const table = `sluice_map_${randomBytes(4).toString("hex")}`;
let server: TestPostgres;
let URL: string;

beforeAll(async () => {
  server = await testPostgres();
  URL = server.url;
  await sql(URL, `CREATE TABLE "${table}" ("legacyId" text, "customerId" bigint, note text)`);
  // Duplicate key L2: the first row (in table order) wins; NULL key ignored.
  await sql(
    URL,
    `INSERT INTO "${table}" VALUES ('L1', 1001, 'a'), ('L2', 1002, 'b'), ('L2', 9999, 'dup'), (NULL, 5, 'n'), ('', 7, 'empty')`,
  );
});

afterAll(async () => {
  if (URL) await sql(URL, `DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
  await server?.stop();
});

async function run(steps: unknown[], rowsSql: string) {
  const engine = await Engine.open();
  await engine.run(`CREATE TABLE src AS ${rowsSql}`);
  let n = 0;
  const ctx: TransformContext = {
    engine,
    log: pino({ level: "silent" }),
    configDir: tmpdir(),
    contract: undefined,
    tmpName: (p) => `${p}_${++n}`,
    pipelineConfig: { validation: "strict", transforms: steps.map((s) => transformSpec.parse(s)) },
  };
  try {
    const r = await applyTransformSteps(ctx, "src");
    return await engine.all(`SELECT * FROM ${r.relation}`);
  } finally {
    engine.close();
  }
}

describe("map from PostgreSQL", () => {
  it("reads key/value with COPY and maps in batch order (camelCase columns, ORM ?schema= URL)", async () => {
    const rows = await run(
      [
        {
          type: "map",
          column: "legacy",
          target: "customer",
          from: { postgres: `${URL}?schema=public`, table, key: "legacyId", value: "customerId" },
        },
      ],
      `SELECT * FROM (VALUES ('p:1', 'L2'), ('p:2', 'L9'), ('p:3', 'L1'), ('p:4', '')) t(_source_pos, legacy)`,
    );
    expect(rows).toEqual([
      { _source_pos: "p:1", legacy: "L2", customer: "1002", _unmapped_legacy: false },
      { _source_pos: "p:2", legacy: "L9", customer: "L9", _unmapped_legacy: true },
      { _source_pos: "p:3", legacy: "L1", customer: "1001", _unmapped_legacy: false },
      { _source_pos: "p:4", legacy: "", customer: "7", _unmapped_legacy: false },
    ]);
  });

  it("uses $DATABASE_URL when no URL is given, and names a missing table", async () => {
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = URL;
    try {
      const err = await run(
        [{ type: "map", column: "a", from: { table: `${table}_missing`, key: "k", value: "v" } }],
        "SELECT 'x' AS a",
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).message).toContain(`relation "${table}_missing" does not exist`);
      expect((err as SluiceError).transient).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });

  it("marks an unreachable server as transient, without the password", async () => {
    const err = await run(
      [
        {
          type: "map",
          column: "a",
          from: { postgres: "postgres://postgres:hunter2@127.0.0.1:1/test", table, key: "k", value: "v" },
        },
      ],
      "SELECT 'x' AS a",
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).transient).toBe(true);
    expect((err as SluiceError).message).not.toContain("hunter2");
    expect((err as SluiceError).message).toContain("postgres://postgres:***@127.0.0.1:1/test");
  });
});
