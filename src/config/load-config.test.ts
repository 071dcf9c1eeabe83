import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { loadConfigText, validateConfigObject } from "./load-config.js";

const base = `version: 1
data_dir: ./data
pipelines:
  events:
    source:
      type: generate
      dataset: behavioral_events
      rows: \${ROWS:-100}
    validation: "off"
    sinks:
      - type: parquet
        path: raw/behavioral_events
        compression: snappy
`;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfigText", () => {
  it("substitutes ${VAR:-default} with typed scalars and resolves paths against the file", () => {
    const loaded = loadConfigText(base, "/srv/app/sluice.yaml", { env: {} });
    const p = loaded.config.pipelines.events!;
    expect(p.source).toMatchObject({ type: "generate", rows: 100 });
    expect(loaded.dataDir).toBe("/srv/app/data");
    expect(loaded.warehousePath).toBe("/srv/app/data/duckdb/analytics.duckdb");
    expect(
      loadConfigText(base, "/x/sluice.yaml", { env: { ROWS: "7" } }).config.pipelines.events!.source,
    ).toMatchObject({
      rows: 7,
    });
  });

  it("names file, line and column of an unknown key with a suggestion", () => {
    const text = base.replace("compression: snappy", "compresion: snappy");
    const err = errorOf(() => loadConfigText(text, "sluice.yaml", { env: {} }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("sluice.yaml:13:9: unknown key `compresion`");
    expect(err.message).toContain("did you mean `compression`?");
  });

  it("suggests the closest enum value", () => {
    const text = base.replace("compression: snappy", "compression: snapy");
    const err = errorOf(() => loadConfigText(text, "sluice.yaml", { env: {} }));
    expect(err.message).toMatch(
      /sluice\.yaml:13:22: .*expected one of snappy \| zstd \| gzip \| none, got "snapy", did you mean `snappy`\?/,
    );
  });

  it("reports a missing variable at its position", () => {
    const err = errorOf(() => loadConfigText(base.replace("${ROWS:-100}", "${ROWS}"), "s.yaml", { env: {} }));
    expect(err.message).toContain("s.yaml:8:13: environment variable ROWS is not set");
  });

  it("applies --set overrides before validation", () => {
    const loaded = loadConfigText(base, "/a/sluice.yaml", {
      env: {},
      sets: ["pipelines.events.sinks.0.compression=zstd", "pipelines.events.source.rows=5"],
    });
    expect(loaded.config.pipelines.events!.sinks[0]).toMatchObject({ compression: "zstd" });
    expect(loaded.config.pipelines.events!.source).toMatchObject({ rows: 5 });
  });

  it("checks references across fields: contract names, merge needs order_by", () => {
    const text = base.replace(
      '    validation: "off"',
      "    contract: behavioural_event\n    dedup: { strategy: merge, key: [id] }",
    );
    const err = errorOf(() =>
      loadConfigText(`contracts:\n  behavioral_event:\n    columns: {}\n${text}`, "c.yaml", { env: {} }),
    );
    expect(err.message).toContain("contract `behavioural_event` is not defined, did you mean `behavioral_event`?");
    expect(err.message).toContain("needs `order_by");
  });

  it("reads YAML 1.1 style off (unquoted) as validation off", () => {
    const loaded = loadConfigText(base.replace('validation: "off"', "validation: off"), "/a/s.yaml", { env: {} });
    expect(loaded.config.pipelines.events!.validation).toBe("off");
  });
});

describe("validateConfigObject", () => {
  it("checks TypeScript definitions by the same rules", () => {
    const err = errorOf(() =>
      validateConfigObject(
        { pipelines: { p: { source: { type: "generate", dataset: "behavioral_events", rowz: 1 }, sinks: [] } } },
        "sluice.config.ts",
      ),
    );
    expect(err.message).toContain("unknown key `rowz` in pipelines.p.source, did you mean `rows`?");
    expect(err.message).toContain("pipelines.p.sinks");
  });

  it("loads a sluice.config.ts module", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-cfg-"));
    const file = join(dir, "sluice.config.ts");
    writeFileSync(
      file,
      `const config: { pipelines: Record<string, unknown> } = { pipelines: { p: { source: { type: "generate", dataset: "transactions" }, validation: "off", sinks: [{ type: "parquet", path: "raw/t" }] } } };\nexport default config;\n`,
    );
    const { loadConfig } = await import("./load-config.js");
    const loaded = await loadConfig(file);
    expect(loaded.config.pipelines.p!.source).toMatchObject({ type: "generate", dataset: "transactions", rows: 10000 });
    expect(loaded.dataDir).toBe(join(dir, "data"));
  });
});
