/*
 * ABAB (reversal) design: phase means of the two outcome measures, in phase
 * order, each B phase compared with the A phase before it, and the pooled
 * effect (mean of B phases minus mean of A phases). An effect that appears
 * in B1, fades in A2 and reappears in B2 is the ABAB evidence of causation.
 *   score:           mean score of scored events (quiz answers, card reviews, lessons)
 *   completion_rate: share of sessions completed (session_ended events)
 *   npx sluice query -c examples/behavioral-events/sluice.yaml "$(cat examples/behavioral-events/queries/abab.sql)"
 */
WITH phases AS (
  SELECT * FROM (VALUES
    (1, 'baseline_A_1', 'A'), (2, 'intervention_B_1', 'B'),
    (3, 'baseline_A_2', 'A'), (4, 'intervention_B_2', 'B')
  ) AS p(ord, phase, arm)
),
per_phase AS (
  SELECT
    "experimentPhase" AS phase,
    count(*) AS events,
    count(DISTINCT "userId") AS users,
    avg(score) AS score,
    stddev_samp(score) AS score_sd,
    count(score) AS scored,
    avg(CAST(completed AS INTEGER)) FILTER (WHERE "eventType" = 'session_ended') AS completion_rate,
    count(*) FILTER (WHERE "eventType" = 'session_ended') AS sessions
  FROM research.behavioral_events
  WHERE "experimentPhase" IS NOT NULL
  GROUP BY 1
),
ordered AS (
  SELECT p.ord, p.phase, p.arm, m.* EXCLUDE (phase)
  FROM phases p LEFT JOIN per_phase m USING (phase)
)
SELECT * EXCLUDE (ord) FROM (
  SELECT
    ord,
    phase,
    arm,
    events,
    users,
    round(score, 4) AS score,
    round(score_sd, 4) AS score_sd,
    round(completion_rate, 4) AS completion_rate,
    sessions,
    -- B phases: difference from the A phase just before; A2: the reversal (difference from B1).
    round(score - lag(score) OVER (ORDER BY ord), 4) AS score_vs_previous,
    round(completion_rate - lag(completion_rate) OVER (ORDER BY ord), 4) AS completion_vs_previous
  FROM ordered
  UNION ALL
  SELECT
    5,
    'B - A (pooled)',
    NULL,
    sum(events),
    NULL,
    round(avg(score) FILTER (WHERE arm = 'B') - avg(score) FILTER (WHERE arm = 'A'), 4),
    NULL,
    round(avg(completion_rate) FILTER (WHERE arm = 'B') - avg(completion_rate) FILTER (WHERE arm = 'A'), 4),
    sum(sessions),
    NULL,
    NULL
  FROM ordered
)
ORDER BY ord;
