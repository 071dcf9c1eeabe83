import type { Dataset, DatasetSqlContext } from "./dataset.js";
import type { GenerationPlan } from "./generation-plan.js";
import { frameSql, invalidKindSql, latenessMsSql, msAtSql, tauSql, timestampSql, withMissingSql } from "./row-frame.js";
import { hashSql, pickSql, unitSql, weightedIndexSql } from "./sql-random.js";

export const PUBSUB_PARTITIONS = 12;
const MESSAGE_TYPES = ["order_created", "order_paid", "order_shipped", "order_cancelled", "profile_updated"];

/**
 * S3: messages of an at-least-once pub/sub stream, in publish order. A key
 * (an account) always lands in the same partition. `value` is the message
 * body as JSON text; `created_at` is when the producer made it and
 * `published_at` when the broker accepted it (a few ms to seconds later).
 * Injected duplicates are redeliveries: identical messages, same
 * message_id. Out-of-order messages were created well before their
 * neighbours (a producer that buffered them).
 */
export const pubsub: Dataset = {
  name: "pubsub",
  description: "S3 at-least-once stream messages, in publish order",
  key: "message_id",
  timeColumn: "published_at",
  columns: [
    { name: "message_id", type: "VARCHAR", description: "UUID (v4 shape), unique per message" },
    { name: "partition", type: "INTEGER", description: `0..${PUBSUB_PARTITIONS - 1}, a function of key` },
    { name: "key", type: "VARCHAR", description: "acct- + 7 digits; skewed" },
    { name: "value", type: "VARCHAR", description: "JSON object text: type, key, amount or fields" },
    { name: "created_at", type: "TIMESTAMP WITH TIME ZONE", description: "producer time" },
    { name: "published_at", type: "TIMESTAMP WITH TIME ZONE", description: ">= created_at, in row order" },
  ],
  invalidKinds: [
    "value is not valid JSON (truncated)",
    "value lacks `type` ({})",
    "partition -1",
    "published_at before created_at",
    "created_at ten years after the anchor (in the future)",
  ],
  sql: pubsubSql,
};

function pubsubSql(plan: GenerationPlan, ctx: DatasetSqlContext): string {
  const s = plan.seed;
  const hasBad = plan.chaos.invalidRate > 0;
  const u = (salt: number, of = "src") => unitSql(hashSql(of, s, salt));
  const bad = (kind: number, broken: string, good: string) =>
    hasBad ? `CASE WHEN bad = ${kind} THEN ${broken} ELSE ${good} END` : good;
  const hex = (h: string) => `lpad(to_hex(${h}), 16, '0')`;
  // Version 4 / variant 1 bits, so ids look like the UUIDs producers make.
  const high = `(${hashSql("src", s, 6)} & 18446744073709490175::UBIGINT) | 16384::UBIGINT`;
  const low = `(${hashSql("src", s, 7)} & 4611686018427387903::UBIGINT) | 9223372036854775808::UBIGINT`;
  const uuid = `(${hex(high)} || ${hex(low)})::UUID::VARCHAR`;
  const type = pickSql(MESSAGE_TYPES, "t");
  const value = `concat('{"type":"', ${type}, '","key":"', key, '","version":', src + 1,
    CASE WHEN t < 2 THEN concat(',"amount":', round(5 + 195 * ${u(8)} * ${u(8)}, 2)) ELSE '' END,
    CASE WHEN t = 2 THEN concat(',"carrier":"', ${pickSql(["ups", "fedex", "dhl", "usps"], "(k10 % 4)")}, '"') ELSE '' END,
    '}')`;
  const columns: [string, string][] = [
    ["message_id", uuid],
    ["partition", bad(2, "-1", `(${hashSql("key", s, 12)} % ${PUBSUB_PARTITIONS})::INTEGER`)],
    ["key", "key"],
    ["value", bad(0, `left(${value}, 17)`, bad(1, "'{}'", value))],
    ["created_at", timestampSql("created_ms")],
    ["published_at", timestampSql(`CASE WHEN bad = 3 THEN created_ms - 1000 ELSE published_ms END`)],
  ];
  const select = columns.map(([name, expr], k) => `${withMissingSql(plan, name, expr, k)} AS "${name}"`);
  return `WITH
frame AS (${frameSql(plan, ctx.positions)}),
placed AS (
  SELECT _i, src,
    ${msAtSql(plan, tauSql(plan, 41))} AS published_ms,
    ${latenessMsSql(plan)} AS late_ms,
    ${invalidKindSql(plan, 5)} AS bad,
    (${hashSql("src", s, 3)} % 10)::INTEGER AS k10,
    concat('acct-', lpad(least(${plan.users - 1}, floor(${plan.users} * ${u(2)} * ${u(2)}))::BIGINT::VARCHAR, 7, '0')) AS key,
    ${weightedIndexSql(u(4), [30, 25, 20, 5, 20])} AS t
  FROM frame
),
timed AS (
  SELECT *,
    CASE WHEN bad = 4 THEN ${plan.anchorMs + 3650 * 86_400_000} + published_ms % 86400000
      ELSE published_ms - late_ms - least(5000, floor(40 * -ln(1 - ${u(5)})))::BIGINT END AS created_ms
  FROM placed
)
SELECT ${select.join(",\n  ")}, _i
FROM timed`;
}
