import { z } from "zod";

/**
 * The fields of a `postgres` sink (spec.ts adds `dedup`): the batch COPYed into a staging table and
 * appended or upserted into `<schema>.<table>` in one transaction with its batch id.
 */
export const postgresSinkFields = {
  type: z.literal("postgres"),
  url: z
    .string()
    .optional()
    .describe("postgres://user:password@host:5432/db; default $DATABASE_URL. The password is never shown."),
  schema: z.string().optional().describe("Schema of the table; default: the URL's ?schema=, else public."),
  table: z.string(),
  mode: z
    .enum(["append", "upsert"])
    .default("append")
    .describe("append: INSERT the rows; upsert: INSERT ... ON CONFLICT (key) DO UPDATE."),
  key: z
    .array(z.string())
    .min(1)
    .optional()
    .describe("upsert: the conflict columns (the table's primary key); default: the dedup key."),
  on_error: z
    .enum(["fail", "warn"])
    .default("fail")
    .describe("warn: a write that fails is reported as skipped and the next run writes the batch."),
};
