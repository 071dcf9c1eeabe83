import type { ServeEvent } from "../serve-context.js";

/**
 * The scheduler's announcements (run started / progress / ended / refused, worker state) to any
 * number of listeners: the HTTP app's server-sent events and metrics, the serve command's log, tests.
 * A listener that throws is dropped from that one delivery, never from the bus, and never stops the
 * others or the scheduler.
 */
export class EventBus {
  private readonly listeners = new Set<(event: ServeEvent) => void>();

  /** Subscribes; returns the unsubscribe function. */
  on(listener: (event: ServeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(event: ServeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's own bug: the scheduler carries on
      }
    }
  }
}
