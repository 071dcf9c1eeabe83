import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql, type TestPostgres, type TestSchema, testPostgres, testSchema } from "../../../test/support/postgres.js";
import { Engine } from "../../engine/engine.js";
import { generationQuery } from "../../sources/generate/generate-dataset.js";
import { writeGenerated } from "./write-generated.js";

let server: TestPostgres;
let schema: TestSchema;
let engine: Engine;

beforeAll(async () => {
  server = await testPostgres();
  schema = await testSchema(server.url, "pgcopy_gen");
  engine = await Engine.open();
});

afterAll(async () => {
  engine?.close();
  await schema?.drop();
  await server?.stop();
});

describe("writeGenerated (sluice generate --out postgres://...?table=NAME)", () => {
  it("loads the generated rows into the named table, keeping camelCase names and a primary key on id", async () => {
    const query = generationQuery({ dataset: "behavioral_events", rows: 1000, seed: 3 });
    const out = await writeGenerated({ engine, query, target: `${schema.url}&table=BehavioralEvent` });
    expect(out).toMatchObject({ format: "postgres", rows: 1000 });
    expect(out.location).toContain(`${schema.name}.BehavioralEvent`);
    const [row] = await sql<{ n: string; ids: string; users: string }>(
      server.url,
      `SELECT count(*) AS n, count(DISTINCT id) AS ids, count(DISTINCT "userId") AS users FROM "${schema.name}"."BehavioralEvent"`,
    );
    expect(Number(row!.n)).toBe(1000);
    expect(Number(row!.ids)).toBe(1000);
    const [pk] = await sql<{ def: string }>(
      server.url,
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
      [`"${schema.name}"."BehavioralEvent"`],
    );
    expect(pk!.def).toBe("PRIMARY KEY (id)");
  });

  it("names the table after the dataset when the URL has no ?table=", async () => {
    const query = generationQuery({ dataset: "transactions", rows: 50, seed: 3 });
    const out = await writeGenerated({ engine, query, target: schema.url });
    expect(out.rows).toBe(50);
    expect(out.location).toContain(`${schema.name}.transactions`);
  });
});
