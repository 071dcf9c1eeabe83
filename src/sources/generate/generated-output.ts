import { statSync } from "node:fs";
import { extname } from "node:path";
import type { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { ConfigError, SluiceError } from "../../errors.js";
import { asidePath, publish, removeQuietly } from "../../util/atomic.js";
import { redactSecrets } from "../../util/redact.js";
import { type GenerationQuery, generationQuery, withPositions } from "./generate-dataset.js";
import type { GenerateOptions, GenerationPlan } from "./generation-plan.js";

/** What a `sluice generate` output wrote. */
export interface GeneratedOutput {
  /** File path or redacted URL (table, subject, stream). */
  readonly location: string;
  readonly format: string;
  readonly rows: number;
  readonly bytes?: number;
}

/**
 * What a URL output does with a target that already holds data (a table):
 * `fail` (the default: never destroy what the user did not ask to),
 * `replace` it, or `append` to it. Streams always append.
 */
export type IfTargetExists = "fail" | "replace" | "append";

/**
 * Writes a generated dataset to a URL target (postgres://, nats://,
 * redis://). Called with the engine holding the generation: `query.sql` is a
 * SELECT valid for the duration of the call (typed columns: TIMESTAMPTZ,
 * JSON ...; for a `stream` scheme timestamps are ISO-8601 text, as the JSON
 * messages carry them), yielding `query.plan.rows` rows in order. It must
 * write all of them or throw a SluiceError (transient when a retry may succeed).
 */
export type GeneratedOutputWriter = (request: {
  readonly engine: Engine;
  readonly query: GenerationQuery;
  readonly target: string;
  readonly ifExists?: IfTargetExists;
}) => Promise<GeneratedOutput>;

/**
 * The URL schemes `--out` knows: a `table` (typed columns) or a `stream` of JSON messages (ISO-8601
 * timestamps). The writers themselves are passed in by the driver (cli/commands/generate.ts: the
 * sinks' `writeGenerated`), so this module names no sink; a known scheme without a writer fails with
 * a clear message.
 */
export const URL_OUTPUT_SCHEMES: Readonly<Record<string, { readonly kind: "table" | "stream" }>> = {
  postgres: { kind: "table" },
  postgresql: { kind: "table" },
  nats: { kind: "stream" },
  redis: { kind: "stream" },
};

const FILE_FORMATS: Readonly<Record<string, "jsonl" | "csv" | "parquet">> = {
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".csv": "csv",
  ".parquet": "parquet",
};

/**
 * Generates `options` into `target`: a file (format by extension, written
 * aside and renamed into place, so it appears whole or not at all) or a URL
 * handled by its scheme's writer in `writers` (by lower-case scheme). Text files carry ISO-8601 timestamps;
 * Parquet is Snappy with format-2 encodings (DELTA_BINARY_PACKED timestamps,
 * dictionaries): same options -> same bytes.
 */
export async function writeGenerated(
  engine: Engine,
  options: GenerateOptions,
  target: string,
  ifExists: IfTargetExists = "fail",
  writers: Readonly<Record<string, GeneratedOutputWriter>> = {},
): Promise<GeneratedOutput & { readonly plan: GenerationPlan }> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target)?.[1]?.toLowerCase();
  const format = scheme === undefined ? fileFormatOf(target) : undefined;
  const probe = generationQuery(options);
  return withPositions(engine, probe.plan.rows, "_sluice_generate_positions", async (positions) => {
    if (scheme !== undefined) {
      const writer = urlWriter(scheme, target, writers);
      const isoTimestamps = URL_OUTPUT_SCHEMES[scheme]?.kind === "stream";
      const query = generationQuery(options, { positions, isoTimestamps });
      return { ...(await writer({ engine, query, target, ifExists })), plan: query.plan };
    }
    const query = generationQuery(options, {
      positions,
      enums: format === "parquet",
      isoTimestamps: format !== "parquet",
    });
    const aside = asidePath(target);
    const copyOptions =
      format === "parquet"
        ? "FORMAT parquet, COMPRESSION snappy, PARQUET_VERSION V2"
        : format === "csv"
          ? "FORMAT csv, HEADER true"
          : "FORMAT json";
    try {
      await engine.run(`COPY (${query.sql}) TO ${literal(aside)} (${copyOptions})`, "write");
      publish(aside, target);
    } catch (err) {
      removeQuietly(aside);
      throw err;
    }
    return { location: target, format: format!, rows: query.plan.rows, bytes: statSync(target).size, plan: query.plan };
  });
}

/** The file format a path's extension selects; ConfigError (exit 2) otherwise. */
export function fileFormatOf(path: string): "jsonl" | "csv" | "parquet" {
  const ext = extname(path).toLowerCase();
  const format = FILE_FORMATS[ext];
  if (format) return format;
  throw new ConfigError(
    `--out ${path}: unknown output format \`${ext || "(no extension)"}\``,
    "use a file ending in .jsonl, .ndjson, .csv or .parquet, or a postgres://, nats:// or redis:// URL",
  );
}

function urlWriter(
  scheme: string,
  target: string,
  writers: Readonly<Record<string, GeneratedOutputWriter>>,
): GeneratedOutputWriter {
  const entry = URL_OUTPUT_SCHEMES[scheme];
  if (!entry) {
    throw new ConfigError(
      `--out: unknown URL scheme \`${scheme}://\``,
      `outputs: a .jsonl, .csv or .parquet file, or ${Object.keys(URL_OUTPUT_SCHEMES)
        .map((s) => `${s}://`)
        .join(", ")}`,
    );
  }
  const writer = writers[scheme];
  if (writer) return writer;
  throw new SluiceError(
    `${scheme} output (${redactSecrets(target)}) is not available in this build of sluice (no ${entry.kind} writer)`,
    {
      component: "generate",
      stage: "write",
      hint: "write a file instead (--out events.jsonl, .csv or .parquet) and load it with a pipeline",
      exitCode: 2,
    },
  );
}
