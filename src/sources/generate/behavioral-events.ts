import type { Dataset } from "./dataset.js";
import type { GenerationPlan } from "./generation-plan.js";
import {
  frameSql,
  invalidKindSql,
  isCopySql,
  latenessMsSql,
  msAtSql,
  tauAtSql,
  tauSql,
  timestampSql,
  withMissingSql,
} from "./row-frame.js";
import { BASE36, base36Sql, cuidSql, hashSql, unitSql, weightedSql } from "./sql-random.js";

export const EVENT_TYPES = [
  "lesson_started",
  "lesson_completed",
  "quiz_answered",
  "card_reviewed",
  "session_started",
  "session_ended",
  "hint_requested",
  "feedback_given",
] as const;

export const EXPERIMENT_PHASES = ["baseline_A_1", "intervention_B_1", "baseline_A_2", "intervention_B_2"] as const;

const LESSONS = 240;
const CARDS_PER_LESSON = 12;
/** Positions are cut into blocks of this many rows, each holding two sessions (12 events on average). */
const BLOCK = 24;

/**
 * S1: learner behavior as the PostgreSQL `"BehavioralEvent"` table holds it.
 *
 * Shape: rows in time order over the window, with a daily cycle and growth.
 * Events come in sessions (session_started, lesson_started, reviews, quizzes
 * ..., session_ended) of one user on one lesson; users are skewed (a few
 * very active ones). experimentPhase is the quarter of the window the event
 * falls in (A1, B1, A2, B2; NULL for the 5 % of users not enrolled) and the
 * B phases raise quiz accuracy, lesson scores and session completion, so an
 * ABAB analysis finds an effect. Dimension strings (users, sessions,
 * lessons, cards) are built once per dimension row and joined in, and ids
 * share their session's prefix: per row only cheap arithmetic remains,
 * which is what makes 1M rows a fraction of a second and compress well.
 */
export const behavioralEvents: Dataset = {
  name: "behavioral_events",
  description: 'S1 learner events, the 15 camelCase columns of PostgreSQL "BehavioralEvent"',
  key: "id",
  timeColumn: "timestamp",
  columns: [
    { name: "id", type: "VARCHAR", description: "cuid: c + 24 of [a-z0-9], unique" },
    { name: "userId", type: "VARCHAR", description: "cuid of the user (skewed activity)" },
    { name: "sessionId", type: "VARCHAR", description: "cuid of the session (about 12 events of one user)" },
    { name: "eventType", type: "VARCHAR", description: `one of ${EVENT_TYPES.join(", ")}` },
    { name: "eventData", type: "JSON", description: "small JSON object depending on eventType" },
    { name: "timestamp", type: "TIMESTAMP WITH TIME ZONE", description: "event time in the window, never after the anchor" },
    { name: "experimentPhase", type: "VARCHAR", description: `${EXPERIMENT_PHASES.join(", ")} by quarter of the window, NULL for non-enrolled users` },
    { name: "lessonId", type: "VARCHAR", description: "cuid of one of 240 lessons" },
    { name: "cardId", type: "VARCHAR", description: "cuid of a card for card_reviewed, quiz_answered, hint_requested; else NULL" },
    { name: "durationMs", type: "BIGINT", description: "0..86400000, exponential per event type" },
    { name: "score", type: "DOUBLE", description: "0..1 for quiz_answered, card_reviewed, lesson_completed; else NULL" },
    { name: "completed", type: "BOOLEAN", description: "whether the activity was completed" },
    { name: "deviceType", type: "VARCHAR", description: "web, ios, android, tablet (per user)" },
    { name: "createdAt", type: "TIMESTAMP WITH TIME ZONE", description: "when the row was written (timestamp, or later for late events)" },
    { name: "updatedAt", type: "TIMESTAMP WITH TIME ZONE", description: ">= createdAt; later for a few edited rows and for half the injected duplicates" },
  ],
  invalidKinds: [
    "eventType outside the enum",
    "negative durationMs",
    "timestamp ten years after the anchor (in the future)",
    "id not cuid-shaped",
    "score above 1",
  ],
  sql: behavioralEventsSql,
};

function behavioralEventsSql(plan: GenerationPlan): string {
  const s = plan.seed;
  const n = plan.rows;
  const start = plan.anchorMs - plan.spanMs;
  const sessions = 2 * Math.ceil(n / BLOCK);
  const u = (salt: number, of = "src") => unitSql(hashSql(of, s, salt));
  // Content (lessons, cards) was authored a year before the window, by one server.
  const contentMs = start - 365 * 86_400_000;
  const contentFp = 1_200_000;
  const cut = (block: string) => `(${hashSql(block, s, 4)} % ${BLOCK})::INTEGER`;
  const sessionStartPos = `(${BLOCK} * (range // 2) + (range % 2) * ${cut("range // 2")})`;
  const phaseOf = (ms: string) => `least(3, greatest(0, ((${ms} - ${start}) * 4) // ${plan.spanMs}))::INTEGER`;

  const et = weightedSql(u(2), [
    ["'card_reviewed'", 38],
    ["'quiz_answered'", 26],
    ["'hint_requested'", 12],
    ["'lesson_completed'", 9],
    ["'feedback_given'", 7],
    ["'lesson_started'", 3],
  ]);
  const json = (values: string[]) => `[${values.map((v) => `'${v}'::JSON`).join(", ")}]`;
  const ratings = ["again", "hard", "good", "good", "good", "good", "easy", "easy", "hard", "good"];
  const ratingScores = [0.0, 0.4, 0.8, 0.8, 0.8, 0.8, 1.0, 1.0, 0.4, 0.8];
  const eventData = `CASE et
    WHEN 'card_reviewed' THEN ${json(ratings.map((r) => `{"rating":"${r}"}`))}[k10 + 1]
    WHEN 'quiz_answered' THEN CASE WHEN correct
      THEN ${json(["a", "b", "c", "d"].map((a) => `{"answer":"${a}","correct":true}`))}[k10 % 4 + 1]
      ELSE ${json(["a", "b", "c", "d"].map((a) => `{"answer":"${a}","correct":false}`))}[k10 % 4 + 1] END
    WHEN 'lesson_started' THEN ${json(["home", "search", "recommendation", "streak", "home"].map((x) => `{"source":"${x}"}`))}[k10 % 5 + 1]
    WHEN 'lesson_completed' THEN ${json(["1", "2", "2", "3", "3"].map((x) => `{"stars":${x}}`))}[k10 % 5 + 1]
    WHEN 'hint_requested' THEN ${json(["1", "1", "2", "3"].map((x) => `{"hintLevel":${x}}`))}[k10 % 4 + 1]
    WHEN 'feedback_given' THEN ${json(["1", "2", "3", "4", "5"].map((x) => `{"rating":${x},"channel":"in_app"}`))}[k10 % 5 + 1]
    WHEN 'session_started' THEN ${json(["2.4.0", "2.4.1", "2.5.0", "2.5.0", "2.5.1"].map((v) => `{"appVersion":"${v}"}`))}[k10 % 5 + 1]
    ELSE ${json(["idle", "logout", "closed", "closed"].map((x) => `{"reason":"${x}"}`))}[k10 % 4 + 1] END`;
  const scale = `CASE et WHEN 'card_reviewed' THEN 7000 WHEN 'quiz_answered' THEN 18000 WHEN 'lesson_started' THEN 1500
    WHEN 'lesson_completed' THEN 480000 WHEN 'hint_requested' THEN 3000 WHEN 'feedback_given' THEN 12000
    WHEN 'session_started' THEN 800 ELSE 1200000 END`;
  const duration = `least(86400000, floor(${scale} * -ln(1 - ${u(16)})))::BIGINT`;
  const score = `CASE et
    WHEN 'card_reviewed' THEN [${ratingScores.join(", ")}][k10 + 1]
    WHEN 'quiz_answered' THEN CASE WHEN correct THEN 1.0 ELSE 0.0 END
    WHEN 'lesson_completed' THEN round(least(1.0, 0.45 + 0.45 * sqrt(${u(17)}) + 0.06 * is_b), 2)
    END::DOUBLE`;
  const completed = `CASE et WHEN 'session_ended' THEN ${u(18)} < 0.55 + 0.12 * is_b
    WHEN 'lesson_started' THEN FALSE WHEN 'session_started' THEN FALSE WHEN 'hint_requested' THEN FALSE ELSE TRUE END`;
  const isCopy = isCopySql();
  // Half the copies are a later version of their record (merge keeps them); a few rows were edited.
  const updatedMs = `created_ms + CASE
    WHEN ${isCopy} AND ${hashSql("_i", s, 19)} % 2 = 0 THEN 1000 * (_i - src) + 1
    WHEN ${u(20)} < 0.003 THEN 1000 + (${u(21)} * 7200000)::BIGINT ELSE 0 END`;

  const bad = (kind: number, broken: string, good: string) =>
    plan.chaos.invalidRate > 0 ? `CASE WHEN bad = ${kind} THEN ${broken} ELSE ${good} END` : good;
  const columns: [string, string][] = [
    ["id", bad(3, "'evt_' || substr(id_prefix, 2, 20)", `id_prefix || substr('${BASE36}', pos + 1, 1)`)],
    ["userId", `"userId"`],
    ["sessionId", `"sessionId"`],
    ["eventType", bad(0, `['lesson_finished', 'LESSON_STARTED', 'quiz_submitted', 'unknown'][k10 % 4 + 1]`, "et")],
    ["eventData", eventData],
    ["timestamp", timestampSql("ts_ms")],
    ["experimentPhase", `CASE WHEN enrolled THEN ['${EXPERIMENT_PHASES.join("', '")}'][phase + 1] END`],
    ["lessonId", `"lessonId"`],
    ["cardId", `"cardId"`],
    ["durationMs", bad(1, `-1 - ${duration}`, duration)],
    ["score", bad(4, `1.01 + round(${u(22)}, 2)`, score)],
    ["completed", completed],
    ["deviceType", `"deviceType"`],
    ["createdAt", timestampSql("created_ms")],
    ["updatedAt", timestampSql(updatedMs)],
  ];
  const select = columns.map(([name, expr], k) => `${withMissingSql(plan, name, expr, k)} AS "${name}"`);

  return `WITH
users AS (
  SELECT range AS uid,
    ${cuidSql(`${start} - (${unitSql(hashSql("range", s, 11))} * 63072000000)::BIGINT`, "range", hashSql("range", s, 12), hashSql("range", s, 13))} AS "userId",
    ${weightedSql(unitSql(hashSql("range", s, 14)), [
      ["'web'", 45],
      ["'ios'", 30],
      ["'android'", 21],
      ["'tablet'", 4],
    ])} AS "deviceType",
    ${unitSql(hashSql("range", s, 15))} >= 0.05 AS enrolled
  FROM range(${plan.users})
),
lessons AS (
  SELECT range AS lesson, ${cuidSql(`${contentMs} + range * 60000`, "range", String(contentFp), hashSql("range", s, 23))} AS "lessonId"
  FROM range(${LESSONS})
),
cards AS (
  SELECT range AS card,
    ${cuidSql(`${contentMs} + (range // ${CARDS_PER_LESSON}) * 60000 + range % ${CARDS_PER_LESSON} * 7 + 1`, "range + 1000", String(contentFp), hashSql("range", s, 24))} AS "cardId"
  FROM range(${LESSONS * CARDS_PER_LESSON})
),
session_keys AS (
  SELECT range AS sess,
    ${msAtSql(plan, tauAtSql(`((${sessionStartPos} + 0.2) / ${Math.max(n, 1)})`))} AS sess_ms,
    least(${plan.users - 1}, floor(${plan.users} * pow(${unitSql(hashSql("range", s, 6))}, 2.2)))::BIGINT AS uid,
    least(${LESSONS - 1}, floor(${LESSONS} * pow(${unitSql(hashSql("range", s, 7))}, 1.6)))::BIGINT AS lesson
  FROM range(${sessions})
),
sessions AS (
  SELECT k.sess, k.lesson, u."userId", u."deviceType", u.enrolled, l."lessonId",
    ${cuidSql("k.sess_ms - 1", "k.sess", hashSql("k.uid", s, 10), hashSql("k.sess", s, 8))} AS "sessionId",
    'c' || ${base36Sql("k.sess_ms", 8)} || ${base36Sql("k.sess", 4)} || ${base36Sql(hashSql("k.uid", s, 10), 4)} || ${base36Sql(hashSql("k.sess", s, 9), 7)} AS id_prefix
  FROM session_keys k JOIN users u USING (uid) JOIN lessons l USING (lesson)
),
frame AS (${frameSql(plan)}),
positions AS (
  SELECT _i, src, src // ${BLOCK} AS blk, (src % ${BLOCK})::INTEGER AS off, ${cut(`src // ${BLOCK}`)} AS cut,
    ${msAtSql(plan, tauSql(plan, 1))} AS created_ms,
    ${latenessMsSql(plan)} AS late_ms,
    ${invalidKindSql(plan, 5)} AS bad,
    (${hashSql("src", s, 3)} % 10)::INTEGER AS k10
  FROM frame
),
events AS (
  SELECT *,
    2 * blk + (off >= cut)::BIGINT AS sess,
    CASE WHEN off >= cut THEN off - cut ELSE off END AS pos,
    CASE WHEN bad = 2 THEN ${plan.anchorMs + 3650 * 86_400_000} + created_ms % 86400000 ELSE created_ms - late_ms END AS ts_ms
  FROM positions
),
typed AS (
  SELECT *,
    CASE WHEN pos = 0 THEN 'session_started'
      WHEN off = ${BLOCK - 1} OR off = cut - 1 OR src = ${n - 1} THEN 'session_ended'
      WHEN pos = 1 THEN 'lesson_started'
      ELSE ${et} END AS et,
    ${phaseOf("ts_ms")} AS phase,
    ${phaseOf("ts_ms")} % 2 AS is_b
  FROM events
),
scored AS (
  SELECT *, ${u(5)} < 0.66 + 0.08 * is_b AS correct FROM typed
)
SELECT ${select.join(",\n  ")}, _i
FROM scored
JOIN sessions USING (sess)
LEFT JOIN cards ON cards.card = CASE WHEN et IN ('card_reviewed', 'quiz_answered', 'hint_requested')
  THEN sessions.lesson * ${CARDS_PER_LESSON} + (${hashSql("src", s, 25)} % ${CARDS_PER_LESSON})::BIGINT END`;
}
