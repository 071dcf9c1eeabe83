import { describe, expect, it } from "vitest";
import { projectDir, runCli } from "./support/cli.js";

/** A valid generate -> parquet config; tests replace parts of it to make one mistake. */
const config = `version: 1
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 20 }
    validation: "off"
    sinks:
      - type: parquet
        path: raw/behavioral_events
        layout: partitioned
        partition_by: [event_date]
        time_column: timestamp
`;

async function check(yaml: string, args: string[] = []) {
  return runCli(["check", ...args], { cwd: projectDir(yaml) });
}

describe("config errors name the value, the allowed values and a suggestion", () => {
  it("a typo in a component type", async () => {
    const r = await check(config.replace("type: generate", "type: files"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'sluice.yaml:4:21: unknown source type "files"; expected one of postgres, file, generate, nats, redis_stream, pubsub; did you mean "file"?',
    );
    const t = await check(`${config}    transforms:\n      - { type: renam }\n`);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(
      /sluice\.yaml:13:17: unknown transform type "renam"; expected one of rename, .*; did you mean "rename"\?/,
    );
  });

  it("a bad enum value behind a union (validation)", async () => {
    const r = await check(config.replace('validation: "off"', "validation: quarantin"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /sluice\.yaml:5:17: pipelines\.events\.validation: expected one of strict \| quarantine \| off, got "quarantin", did you mean `quarantine`\?/,
    );
  });

  it("partition_by accepts a single name; other column lists ask for a list", async () => {
    const ok = await check(config.replace("partition_by: [event_date]", "partition_by: event_date"));
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const r = await check(`${config}    dedup: { strategy: bronze_append, key: id }\n`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("sluice.yaml:12:44: pipelines.events.dedup.key: expected a list, e.g. [id]");
  });
});

describe("days", () => {
  it("--days must be a whole number of days from 1 to 36500", async () => {
    const dir = projectDir(config);
    for (const bad of ["1e9", "0", "2.5", "x"]) {
      const r = await runCli(["run", "--days", bad], { cwd: dir });
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toContain(`--days ${bad}: expected a whole number of days from 1 to 36500`);
    }
  });

  it("days in the config is checked the same way", async () => {
    const r = await check(config.replace("rows: 20", "rows: 20, days: 1e9"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("pipelines.events.source.days: expected a whole number of days from 1 to 36500");
  });
});

describe("--set", () => {
  it("is repeatable on check and reports errors at the command line, not in the file", async () => {
    const r = await check(config, ["--set", "pipelines.events.sinks.0.compresion=zstd"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "--set pipelines.events.sinks.0.compresion=zstd: unknown key `compresion` in pipelines.events.sinks[0], did you mean `compression`?",
    );
    expect(r.stderr).not.toContain("sluice.yaml:");
  });

  it("accepts sinks[0] as well as sinks.0", async () => {
    const r = await check(config, [
      "--set",
      "pipelines.events.sinks[0].compression=zstd",
      "--set",
      "pipelines.events.rows=5",
    ]);
    expect(r.stderr).toContain("--set pipelines.events.rows=5: unknown key `rows` in pipelines.events");
    const ok = await check(config, ["--set", "pipelines.events.sinks[0].compression=zstd"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
  });

  it("without = says what it takes", async () => {
    const r = await runCli(["run", "--set", "foo"], { cwd: projectDir(config) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--set foo: --set takes key.path=value");
    expect(r.stderr).not.toContain("environment variable");
  });
});

describe("features not in this version", () => {
  it("a streaming source names what it needs, and `sluice run` of it points at `sluice stream`", async () => {
    const r = await check(config.replace("{ type: generate, dataset: behavioral_events, rows: 20 }", "{ type: nats }"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stream.*required|required.*stream/);
    const dir = projectDir(
      config.replace(
        "{ type: generate, dataset: behavioral_events, rows: 20 }",
        "{ type: redis_stream, stream: events, group: g }",
      ),
    );
    const run = await runCli(["run"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("is a stream");
    expect(run.stderr).toContain("sluice stream");
  });

  it("check notes that a schedule is validated but not run by sluice", async () => {
    const r = await check(config.replace('validation: "off"', 'validation: "off"\n    schedule: "0 2 * * *"'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'events: schedule "0 2 * * *" is valid, but scheduling is not available in this version of sluice (planned: sluice serve)',
    );
    expect(r.stdout + r.stderr).not.toMatch(/used by `sluice serve`/);
  });
});
