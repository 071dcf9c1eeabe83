import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeDeadLetters } from "../src/stream/dead-letter.js";
import { projectDir, runCli } from "./support/cli.js";
import { duckQuery } from "./support/duckdb.js";

// `sluice deadletter` lists dead letters with their errors; `sluice replay --deadletter` sends them
// through the pipeline again once the cause is fixed: into the sinks once, the file moved aside, a
// second replay (or one after a crash before the move) writing nothing.

const POISON = `[{ type: derive, columns: { checked: "CASE WHEN v = 77 THEN error('poison message ' || v) ELSE v END" } }]`;

function yaml(transforms: string): string {
  return `version: 1
data_dir: ./data
pipelines:
  events:
    source: { type: file, path: events.jsonl }
    validation: quarantine
    contract:
      columns:
        id: { type: integer, required: true }
        v: { type: integer, required: true }
        kind: { type: string }
    transforms: ${transforms}
    sinks:
      - { type: parquet, path: lake/events, layout: partitioned, partition_by: [kind] }
      - { type: duckdb, schema: s, table: events, mode: table }
`;
}

async function warehouse(dir: string): Promise<{ id: number; v: number; batch: string }[]> {
  const rows = await duckQuery<{ id: number; v: number; batch: string }>(
    `ATTACH '${join(dir, "data", "duckdb", "analytics.duckdb")}' AS w (READ_ONLY);
     SELECT CAST(id AS INTEGER) AS id, CAST(v AS INTEGER) AS v, _batch_id AS batch FROM w.s.events ORDER BY id`,
  );
  return rows;
}

async function lake(dir: string): Promise<number> {
  const [{ n }] = await duckQuery<{ n: bigint }>(
    `SELECT count(*) AS n FROM read_parquet('${join(dir, "data", "lake", "events")}/**/*.parquet')`,
  );
  return Number(n);
}

describe("stream dead letters", () => {
  it("are listed with their error, replayed once the cause is fixed, exactly once", async () => {
    const dir = projectDir(yaml(POISON));
    writeFileSync(join(dir, "events.jsonl"), "");
    const dataDir = join(dir, "data");
    const message = (id: number, v: number, position: string) => ({
      message: { position, data: Buffer.from(JSON.stringify({ id, v, kind: "k1" })), deliveries: 3 },
      error: `Invalid Input Error: poison message ${v}`,
    });
    // What a stream leaves after max_deliveries (stream/after-failure.ts): the file in its format.
    await writeDeadLetters(
      dataDir,
      "events",
      "events",
      "nats_events-41-47",
      [message(1, 77, "41"), message(2, 77, "44"), { ...message(3, 5, "47"), error: "timeout" }],
      new Date("2026-03-01T02:00:00Z"),
    );

    const listed = await runCli(["deadletter", "events", "--json", "--rows", "2"], { cwd: dir });
    expect(listed.code, listed.stderr).toBe(0);
    const listing = JSON.parse(listed.stdout);
    expect(listing).toMatchObject({
      pipeline: "events",
      total: 3,
      files: [
        {
          file: "nats_events-41-47.parquet",
          batch: "nats_events-41-47",
          kind: "stream",
          rows: 3,
          time: "2026-03-01T02:00:00.000Z",
          errors: [
            { error: "Invalid Input Error: poison message 77", count: 2 },
            { error: "timeout", count: 1 },
          ],
        },
      ],
    });
    expect(listing.files[0].sample).toHaveLength(2);
    expect(listing.files[0].sample[0]).toMatchObject({
      source_pos: "events#41",
      record: '{"id":1,"v":77,"kind":"k1"}',
    });
    const text = await runCli(["deadletter", "events"], { cwd: dir });
    expect(text.stdout).toContain("nats_events-41-47.parquet");
    expect(text.stdout).toContain("2 x Invalid Input Error: poison");
    expect(text.stdout).toContain("3 dead letters of events in 1 file");

    // The cause is still there: the replay fails and the file stays.
    const failed = await runCli(["replay", "events", "--deadletter"], { cwd: dir });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("stays in deadletter/events/");
    expect(readdirSync(join(dataDir, "deadletter", "events"))).toContain("nats_events-41-47.parquet");

    // Fixed (the failing transform removed): every record into both sinks, the file moved aside.
    writeFileSync(join(dir, "sluice.yaml"), yaml("[]"));
    const ok = await runCli(["replay", "events", "--deadletter", "--json"], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    const [result] = JSON.parse(ok.stdout);
    expect(result).toMatchObject({
      file: "nats_events-41-47.parquet",
      movedTo: "deadletter/events/replayed/nats_events-41-47.parquet",
      record: { status: "succeeded", rows: { valid: 3, quarantined: 0 } },
    });
    const batch = result.record.batch_id as string;
    expect(batch).toMatch(/^deadletter-nats_events-41-47-[0-9a-f]{12}$/);
    expect(await warehouse(dir)).toEqual([
      { id: 1, v: 77, batch },
      { id: 2, v: 77, batch },
      { id: 3, v: 5, batch },
    ]);
    expect(await lake(dir)).toBe(3);
    expect(existsSync(join(dataDir, "deadletter", "events", "nats_events-41-47.parquet"))).toBe(false);
    expect((await runCli(["deadletter", "events"], { cwd: dir })).stdout).toContain("no dead letters for events");

    // Replaying again does nothing.
    const again = await runCli(["replay", "events", "--deadletter"], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("no dead letters to replay for events");

    // A crash after the commit, before the move: the file is replayed again as the same batch,
    // which every sink holds.
    copyFileSync(
      join(dataDir, "deadletter", "events", "replayed", "nats_events-41-47.parquet"),
      join(dataDir, "deadletter", "events", "nats_events-41-47.parquet"),
    );
    const crashed = await runCli(["replay", "events", "--deadletter", "nats_events-41-47.parquet", "--json"], {
      cwd: dir,
    });
    expect(crashed.code, crashed.stderr).toBe(0);
    const [repeat] = JSON.parse(crashed.stdout);
    expect(repeat.record.batch_id).toBe(batch);
    expect(repeat.record.outputs.map((o: { status: string }) => o.status)).toEqual(["held", "held"]);
    expect(repeat.movedTo).toBe("deadletter/events/replayed/nats_events-41-47.2.parquet");
    expect(await warehouse(dir)).toHaveLength(3);
    expect(await lake(dir)).toBe(3);
  });
});

describe("plan dead letters", () => {
  it("records with their columns, _error and _stage: listed by stage, replayed without lineage columns", async () => {
    const dir = projectDir(yaml("[]"));
    writeFileSync(join(dir, "events.jsonl"), "");
    const folder = join(dir, "data", "deadletter", "events");
    mkdirSync(folder, { recursive: true });
    await duckQuery(`COPY (SELECT * FROM (VALUES
        (10, 1, 'k2', 'r0', 'b0', 'value too long for type character varying(3)', 'sink:postgres'),
        (11, 2, 'k2', 'r0', 'b0', 'classifier: no answer', 'enrich')
      ) t(id, v, kind, _run_id, _batch_id, _error, _stage))
      TO '${folder}/b0.parquet' (FORMAT parquet)`);
    const listing = JSON.parse((await runCli(["deadletter", "events", "--json", "--rows", "1"], { cwd: dir })).stdout);
    expect(listing.files[0]).toMatchObject({
      file: "b0.parquet",
      kind: "plan",
      rows: 2,
      errors: [
        { error: "classifier: no answer", stage: "enrich", count: 1 },
        { error: "value too long for type character varying(3)", stage: "sink:postgres", count: 1 },
      ],
    });
    expect(JSON.parse(listing.files[0].sample[0].record)).toEqual({ id: 10, v: 1, kind: "k2" });

    const ok = await runCli(["replay", "events", "--deadletter", "b0.parquet"], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("moved to deadletter/events/replayed/b0.parquet");
    expect((await warehouse(dir)).map((r) => [r.id, r.v])).toEqual([
      [10, 1],
      [11, 2],
    ]);
    const missing = await runCli(["replay", "events", "--deadletter", "b0.parquet"], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("has no dead-letter file b0.parquet");
  });
});
