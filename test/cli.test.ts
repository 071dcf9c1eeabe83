import { describe, expect, it } from "vitest";
import { projectDir, runCli } from "./support/cli.js";

const config = `version: 1
pipelines:
  events:
    source: { type: generate, dataset: behavioral_events, rows: 50 }
    validation: "off"
    sinks:
      - type: parquet
        path: raw/behavioral_events
        compresion: snappy
`;

describe("sluice CLI: usage and configuration errors", () => {
  it("exits 2 on a config typo, naming file, line, column and a suggestion", async () => {
    const dir = projectDir(config);
    const r = await runCli(["run"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /sluice\.yaml:9:9: unknown key `compresion` in pipelines\.events\.sinks\[0\], did you mean `compression`\?/,
    );
    expect(r.stdout).toBe("");
  });

  it("exits 2 for an unknown pipeline and lists the defined ones", async () => {
    const dir = projectDir(config.replace("compresion", "compression"));
    const r = await runCli(["run", "evnts"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no pipeline named `evnts`");
    expect(r.stderr).toContain("pipelines defined: events");
  });

  it("exits 2 for an unknown option", async () => {
    const r = await runCli(["run", "--dayz", "3"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--dayz'");
  });

  it("shows an example in every command's help", async () => {
    for (const cmd of ["run", "query", "runs", "check", "schema", "generate"]) {
      const r = await runCli([cmd, "--help"]);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Examples?:/);
    }
  });

  it("prints the JSON Schema of the config", async () => {
    const r = await runCli(["schema"]);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["version", "data_dir", "warehouse", "contracts", "pipelines"]),
    );
    expect(schema.additionalProperties).toBe(false);
  });

  it("query on a missing warehouse fails with a hint", async () => {
    const dir = projectDir(config.replace("compresion", "compression"));
    const r = await runCli(["query", "SELECT 1"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not exist yet");
    expect(r.stderr).toContain("hint: run a pipeline");
  });
});
