import { appendFileSync, createReadStream, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { HttpTransformConfig } from "../config/http-spec.js";
import { ident, literal } from "../engine/sql.js";
import { SluiceError } from "../errors.js";
import { removeQuietly } from "../util/atomic.js";
import { requireColumn } from "./columns.js";
import { answerItemsSql } from "./http-answers.js";
import { postAll } from "./http-client.js";
import type { Transform, TransformContext, TransformOf } from "./transform.js";

const ROW = "__sluice_http_row";
const REQ = "__sluice_http_req";

/**
 * `http`: enriches every record through an HTTP API (SPEC sections 6 and 9).
 *
 * The records (`fields`, the key always among them) are serialized by DuckDB (`COPY ... (FORMAT
 * json)`, one object per line) and POSTed as JSON arrays of `batch_size`, `concurrency` at once,
 * through the API's retry and breaker policy (http-client.ts). Answers go to a scratch JSONL file as
 * they come (their text only) and are joined back in DuckDB: an answer item is matched to the
 * records of its request by `key`, and checked against `response`. A record goes on with the
 * response columns added when its item passes; otherwise it is a dead letter (`_error`: the item's
 * failed checks, no item for its key, an answer that is not a JSON array, or the API's refusal
 * (4xx)), handed to `ctx.deadLetters`. Row order is kept. Transient failures past their retries and
 * an open breaker fail the step with a transient SluiceError: nothing is dead-lettered for an outage.
 */
export const http: Transform<TransformOf<"http">> = async (ctx, input, config) => {
  const step = httpStage(config);
  const columns = (await ctx.engine.columns(input)).map((c) => c.name);
  requireColumn(columns, config.key, `http ${step}`);
  for (const f of config.fields ?? []) requireColumn(columns, f, `http ${step}`);
  const sent = config.fields
    ? [...new Set([config.key, ...config.fields])]
    : columns.filter((c) => !c.startsWith("_") || c === config.key);
  const dir = join(ctx.scratchDir ?? tmpdir(), ctx.tmpName("http"));
  mkdirSync(dir, { recursive: true });
  try {
    const numbered = ctx.tmpName("http_numbered");
    await ctx.engine.run(
      `CREATE TABLE ${numbered} AS SELECT row_number() OVER () AS ${ROW}, * FROM ${input}`,
      "transform",
    );
    const requests = join(dir, "requests.jsonl");
    await ctx.engine.run(
      `COPY (SELECT ${sent.map(ident).join(", ")} FROM ${numbered} ORDER BY ${ROW}) TO ${literal(requests)} (FORMAT json)`,
      "transform",
    );
    const answersFile = join(dir, "answers.jsonl");
    writeFileSync(answersFile, "");
    const made = await postAll(config, step, bodies(requests, config.batch_size), (req, answer) =>
      appendFileSync(answersFile, `${JSON.stringify({ req, ...answer })}\n`),
    );
    ctx.log.debug(`${step}: ${made} requests answered`);
    return await joinAnswers(ctx, config, step, numbered, answersFile, columns);
  } finally {
    removeQuietly(dir);
  }
};

/** The dead-letter stage of a step: `enrich:<name>` (default the URL's host). */
export function httpStage(config: HttpTransformConfig): string {
  return `enrich:${config.name ?? new URL(config.url).host}`;
}

/** The request bodies: JSON arrays of `size` lines of the requests file. */
async function* bodies(file: string, size: number): AsyncGenerator<string> {
  let chunk: string[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })) {
    if (!line) continue;
    chunk.push(line);
    if (chunk.length === size) {
      yield `[${chunk.join(",")}]`;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield `[${chunk.join(",")}]`;
}

/** The records with their answers: the enriched relation returned, the failures dead-lettered. */
async function joinAnswers(
  ctx: TransformContext,
  config: HttpTransformConfig,
  step: string,
  numbered: string,
  answersFile: string,
  columns: readonly string[],
): Promise<string> {
  const answers = ctx.tmpName("http_answers");
  await ctx.engine.run(
    `CREATE TABLE ${answers} AS SELECT *,
       CASE WHEN refused IS NULL AND json_valid(body) THEN json_type(body) = 'ARRAY' ELSE false END AS ok
     FROM read_json(${literal(answersFile)}, format = 'newline_delimited',
       columns = {req: 'BIGINT', body: 'VARCHAR', refused: 'VARCHAR'})`,
    "transform",
  );
  const items = ctx.tmpName("http_items");
  await ctx.engine.run(`CREATE TABLE ${items} AS ${answerItemsSql(answers, config.key, config.response)}`, "transform");
  const added = Object.keys(config.response);
  const keyText = `CAST(n.${ident(config.key)} AS VARCHAR)`;
  const joined = ctx.tmpName("http_joined");
  await ctx.engine.run(
    `CREATE TABLE ${joined} AS
     SELECT n.*, ${added.map((c) => `i.${ident(c)} AS ${ident(`__sluice_http_v_${c}`)}`).join(", ")},
       CASE
         WHEN a.refused IS NOT NULL THEN 'the API refused the request: ' || a.refused
         WHEN a.req IS NULL THEN 'the API gave no answer to the request'
         WHEN NOT a.ok THEN 'the answer is not a JSON array: ' || left(a.body, 200)
         WHEN ${keyText} IS NULL THEN ${literal(`the record has no ${config.key}`)}
         WHEN i.k IS NULL THEN ${literal(`the answer has no item for this ${config.key}: `)} || ${keyText}
         WHEN i.item_error IS NOT NULL THEN 'answer item: ' || i.item_error
       END AS ${ident("__sluice_http_error")}
     FROM (SELECT *, (${ROW} - 1) // ${config.batch_size} AS ${REQ} FROM ${numbered}) n
     LEFT JOIN ${answers} a ON a.req = n.${REQ}
     LEFT JOIN ${items} i ON i.req = n.${REQ} AND i.k = ${keyText}`,
    "transform",
  );
  const kept = columns.filter((c) => !added.includes(c)).map((c) => ident(c));
  const dead = ctx.tmpName("http_dead");
  await ctx.engine.run(
    `CREATE VIEW ${dead} AS SELECT ${columns.map(ident).join(", ")}, __sluice_http_error AS _error
     FROM ${joined} WHERE __sluice_http_error IS NOT NULL ORDER BY ${ROW}`,
    "transform",
  );
  const failed = await ctx.engine.count(dead);
  if (failed > 0) {
    if (!ctx.deadLetters) {
      throw new SluiceError(`http ${step}: ${failed} records failed and this driver keeps no dead letters`, {
        component: "http",
        stage: "transform",
      });
    }
    await ctx.deadLetters.add(dead, step);
    ctx.log.warn(`${step}: ${failed} records dead-lettered`);
  }
  const out = ctx.tmpName("t_http");
  await ctx.engine.run(
    `CREATE TABLE ${out} AS SELECT ${[...kept, ...added.map((c) => `${ident(`__sluice_http_v_${c}`)} AS ${ident(c)}`)].join(", ")}
     FROM ${joined} WHERE __sluice_http_error IS NULL ORDER BY ${ROW}`,
    "transform",
  );
  return out;
}
