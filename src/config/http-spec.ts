import { z } from "zod";

/**
 * One column an `http` answer item adds, and its checks (the response contract): `type` (default
 * string), `required` (default true: an item without it is a dead letter), `enum`, `min`/`max`,
 * `pattern`. An item that fails any check is a dead letter with the reason; the record goes on
 * only with every column valid.
 */
export const responseColumnSpec = z
  .strictObject({
    type: z
      .enum(["string", "integer", "number", "boolean", "timestamp", "date", "json"])
      .default("string")
      .describe("The JSON value's logical type (a number must be a JSON number, a string a JSON string)."),
    required: z.boolean().default(true).describe("A missing or null value fails the item."),
    enum: z
      .array(z.union([z.string(), z.number()]))
      .optional()
      .describe("Allowed values."),
    min: z.number().optional().describe("Smallest allowed value (numbers)."),
    max: z.number().optional().describe("Largest allowed value (numbers)."),
    pattern: z.string().optional().describe("Regular expression (RE2) the whole value must match."),
  })
  .describe("A column the answer adds, and its checks.");

/**
 * `http`: enrich every record through an HTTP API (SPEC sections 6 and 9). Records are POSTed as
 * JSON arrays of `batch_size`, `concurrency` requests in flight; each answer item is matched to
 * its record by `key` and checked against `response`. Failing items and unanswered records are
 * dead letters; transient failures are retried (`retry`) behind a circuit breaker (`breaker`), and
 * when retries run out or the breaker is open the batch fails as transient (the driver retries it).
 */
export const httpTransformSpec = z.strictObject({
  type: z.literal("http"),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, { error: "use letters, digits, `_`, `.` and `-`" })
    .optional()
    .describe("Names the step in dead letters (`_stage: enrich:<name>`); default the URL's host."),
  url: z.string().url().describe("The endpoint the records are POSTed to."),
  batch_size: z.number().int().positive().default(500).describe("Records per request."),
  timeout_ms: z.number().int().positive().default(5000).describe("One request's time limit."),
  concurrency: z.number().int().positive().default(4).describe("Requests in flight at once."),
  key: z.string().default("transaction_id").describe("Column matching an answer item to its record."),
  fields: z.array(z.string()).min(1).optional().describe("Columns sent (the key is always sent); default all."),
  headers: z.record(z.string(), z.string()).optional().describe("Extra request headers."),
  response: z
    .record(z.string(), responseColumnSpec)
    .refine((r) => Object.keys(r).length > 0, { error: "name at least one column the answer adds" })
    .describe("The response contract: the columns each answer item adds, and their checks."),
  retry: z
    .strictObject({
      max_attempts: z.number().int().positive().default(5).describe("Attempts per request, the first included."),
      base_ms: z.number().int().nonnegative().default(200).describe("First backoff (exponential, with jitter)."),
      max_ms: z.number().int().positive().default(10000).describe("Longest backoff (Retry-After is honoured)."),
    })
    .default({ max_attempts: 5, base_ms: 200, max_ms: 10000 }),
  breaker: z
    .strictObject({
      failures: z.number().int().positive().default(5).describe("Consecutive failed requests that open it."),
      cooldown_ms: z.number().int().positive().default(10000).describe("Open this long, then one probe."),
    })
    .default({ failures: 5, cooldown_ms: 10000 }),
});

export type HttpTransformConfig = z.infer<typeof httpTransformSpec>;
export type ResponseColumn = z.infer<typeof responseColumnSpec>;
