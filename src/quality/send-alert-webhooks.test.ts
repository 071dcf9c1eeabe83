import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Incident } from "./alert-incidents.js";
import { deliverNotifications, notificationBody } from "./send-alert-webhooks.js";

const received: { path: string; body: Record<string, unknown> }[] = [];
let flaky = 0;
const server = createServer((req: IncomingMessage, res) => {
  let data = "";
  req.on("data", (d: Buffer) => {
    data += d.toString();
  });
  req.on("end", () => {
    received.push({ path: req.url ?? "", body: JSON.parse(data) as Record<string, unknown> });
    if (req.url?.includes("flaky")) res.statusCode = ++flaky < 3 ? 503 : 200;
    else if (req.url?.includes("broken")) res.statusCode = 500;
    else if (req.url?.includes("gone")) res.statusCode = 404;
    else res.statusCode = 200;
    res.end("ok");
  });
});
let base = "";
beforeAll(async () => {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
});

const incident: Incident = {
  fingerprint: "0123456789abcdef",
  pipeline: "events",
  rule: "validation_pass_rate below 1",
  metric: "validation_pass_rate",
  status: "firing",
  startsAt: "2026-03-01T02:00:00.000Z",
  lastSeenAt: "2026-03-01T02:00:00.000Z",
  count: 1,
  value: 0.9,
  message: "events: validation_pass_rate = 0.9 is below 1 (run r1)",
  run_id: "r1",
};

describe("notificationBody", () => {
  it("is Slack-compatible and shaped like an Alertmanager webhook", () => {
    const firing = notificationBody("firing", incident);
    expect(firing).toMatchObject({
      text: expect.stringContaining("[FIRING] events: validation_pass_rate = 0.9 is below 1"),
      version: "4",
      status: "firing",
      fingerprint: "0123456789abcdef",
      startsAt: "2026-03-01T02:00:00.000Z",
      endsAt: "0001-01-01T00:00:00Z",
      labels: { alertname: "sluice_validation_pass_rate", pipeline: "events" },
      alerts: [{ status: "firing", fingerprint: "0123456789abcdef" }],
    });
    const resolved = notificationBody("resolved", { ...incident, status: "resolved", endsAt: "2026-03-02T02:00:00Z" });
    expect(resolved).toMatchObject({ status: "resolved", endsAt: "2026-03-02T02:00:00Z" });
    expect(resolved.text).toContain("[RESOLVED]");
  });
});

describe("deliverNotifications", () => {
  it("retries failures that may pass, not a refusal; what still fails is returned with a warning", async () => {
    const since = new Date().toISOString();
    const to = (url: string) => ({ url, status: "firing" as const, incident, since });
    const { failed, warnings } = await deliverNotifications(
      [
        to(`${base}/hooks/T0/SECRET`),
        to(`${base}/flaky/SECRET`),
        to(`${base}/broken/SECRET`),
        to(`${base}/gone/SECRET`),
        to("http://127.0.0.1:1/unreachable"),
      ],
      { attempts: 3, backoffMs: 5, timeoutMs: 2000 },
    );
    const count = (p: string) => received.filter((r) => r.path.startsWith(p)).length;
    expect([count("/hooks"), count("/flaky"), count("/broken"), count("/gone")]).toEqual([1, 3, 3, 1]);
    expect(failed.map((n) => n.url)).toEqual([
      `${base}/broken/SECRET`,
      `${base}/gone/SECRET`,
      "http://127.0.0.1:1/unreachable",
    ]);
    expect(warnings).toEqual([
      `alert webhook ${base}/...: answered 500 Internal Server Error`,
      `alert webhook ${base}/...: answered 404 Not Found`,
      expect.stringMatching(/^alert webhook http:\/\/127\.0\.0\.1:1\/\.\.\.: could not be reached: .+/),
    ]);
    expect(warnings.join()).not.toContain("SECRET");
  });
});
