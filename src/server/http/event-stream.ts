import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { ServeEvent } from "../serve-context.js";
import type { AppDeps } from "./app-deps.js";

const KEEPALIVE_MS = 20_000;

/**
 * `GET /events`: the scheduler's ServeEvents as server-sent events, one JSON object per `data:` line
 * (unnamed events, so EventSource.onmessage gets them), in the order the scheduler announced them.
 * A `: keepalive` comment every 20 s keeps proxies from closing an idle stream. The subscription
 * ends when the client disconnects.
 */
export function mountEvents(app: Hono, deps: AppDeps): void {
  app.get("/events", (c) =>
    streamSSE(c, async (stream) => {
      let chain = Promise.resolve();
      const send = (event: ServeEvent) => {
        chain = chain.then(() => stream.writeSSE({ data: JSON.stringify(event) })).catch(() => undefined);
      };
      const unsubscribe = deps.ctx.scheduler.on(send);
      const done = new Promise<void>((resolve) => stream.onAbort(resolve));
      const beat = setInterval(() => {
        chain = chain
          .then(() => stream.write(": keepalive\n\n"))
          .then(
            () => undefined,
            () => undefined,
          );
      }, KEEPALIVE_MS);
      try {
        await stream.write(": connected\n\n");
        await done;
      } finally {
        clearInterval(beat);
        unsubscribe();
      }
    }),
  );
}
