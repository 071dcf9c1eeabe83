import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FiredAlert } from "../plan/run-record.js";
import { sendAlertWebhooks } from "./send-alert-webhooks.js";

const received: { path: string; body: Record<string, unknown> }[] = [];
const server = createServer((req: IncomingMessage, res) => {
  let data = "";
  req.on("data", (d: Buffer) => {
    data += d.toString();
  });
  req.on("end", () => {
    received.push({ path: req.url ?? "", body: JSON.parse(data) as Record<string, unknown> });
    res.statusCode = req.url?.includes("broken") ? 500 : 200;
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

const fired: FiredAlert[] = [
  {
    metric: "validation_pass_rate",
    value: 0.9,
    rule: "below 1",
    message: "events: validation_pass_rate = 0.9 is below 1 (run r1)",
  },
  {
    metric: "null_rate.x",
    value: 0.95,
    rule: "above 0.9",
    message: "events: null_rate.x = 0.95 is above 0.9 (run r1)",
  },
  {
    metric: "duplicate_rate",
    value: 0.2,
    rule: "above 0.1",
    message: "events: duplicate_rate = 0.2 is above 0.1 (run r1)",
  },
];

describe("sendAlertWebhooks", () => {
  it("posts a Slack-compatible body per fired alert to its rule's webhook; failures are warnings", async () => {
    const warnings = await sendAlertWebhooks(
      [
        { metric: "validation_pass_rate", below: 1, webhook: `${base}/hooks/T0/SECRET` },
        { metric: "null_rate.x", above: 0.9, webhook: `${base}/broken/SECRET` },
        { metric: "null_rate.x", above: 0.99, webhook: `${base}/not-fired` },
        { metric: "duplicate_rate", above: 0.1, webhook: "http://127.0.0.1:1/unreachable" },
      ],
      fired,
      { run_id: "r1", pipeline: "events", status: "succeeded" },
    );
    expect(received.map((r) => r.path).sort()).toEqual(["/broken/SECRET", "/hooks/T0/SECRET"]);
    const ok = received.find((r) => r.path === "/hooks/T0/SECRET")!.body;
    expect(ok).toMatchObject({
      text: expect.stringContaining("validation_pass_rate = 0.9 is below 1"),
      run_id: "r1",
      value: 0.9,
    });
    expect(warnings).toEqual([
      `alert webhook ${base}/... answered 500 Internal Server Error`,
      expect.stringMatching(/^alert webhook http:\/\/127\.0\.0\.1:1\/\.\.\. could not be reached: .+/),
    ]);
    expect(warnings.join()).not.toContain("SECRET");
  });
});
