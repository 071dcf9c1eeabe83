import type { Logger } from "../util/logger.js";
import type { Scheduler, ServeEvent } from "./serve-context.js";

/**
 * The scheduler's events as log lines of `sluice serve` (JSON lines when not a terminal): each
 * carries `event` (its type) and `pipeline`, plus `trigger`, `run_id`, `status`, `state` as they
 * apply, so a log reader (or a test) can follow the runs. A run's own log lines (`run-progress`) are
 * at debug level: the run's record summary at its end is the info line.
 */
export function logServeEvents(scheduler: Scheduler, log: Logger): () => void {
  return scheduler.on((e) => logEvent(log, e));
}

function logEvent(log: Logger, e: ServeEvent): void {
  const base = { event: e.type, pipeline: e.pipeline };
  switch (e.type) {
    case "run-started":
      log.info({ ...base, trigger: e.trigger }, `${e.pipeline}: run started (${e.trigger})`);
      break;
    case "run-progress":
      log.debug(base, `${e.pipeline}: ${e.message}`);
      break;
    case "run-ended": {
      const r = e.record;
      const fields = { ...base, run_id: r.run_id, status: r.status };
      const text = `${e.pipeline}: run ${r.run_id} ${r.status}, ${r.rows.written} rows written${r.error ? `: ${r.error.message}` : ""}`;
      if (r.status === "succeeded") log.info(fields, text);
      else log.warn(fields, text);
      break;
    }
    case "run-refused":
      log.warn({ ...base, trigger: e.trigger }, `${e.pipeline}: ${e.trigger} run refused: ${e.reason}`);
      break;
    case "worker": {
      const fields = { ...base, state: e.state, detail: e.detail };
      const text = `${e.pipeline}: stream worker ${e.state}${e.detail ? ` (${e.detail})` : ""}`;
      if (e.state === "backoff") log.warn(fields, text);
      else log.info(fields, text);
      break;
    }
  }
}
