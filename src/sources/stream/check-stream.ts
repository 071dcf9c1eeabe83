import type { NatsSourceConfig, RedisStreamSourceConfig } from "../../config/spec.js";
import { connectNats, parseNatsUrl } from "../../connectors/nats/connect-nats.js";
import { connectRedis } from "../../connectors/redis/connect-redis.js";
import { SluiceError } from "../../errors.js";
import { redactSecrets } from "../../util/redact.js";

/**
 * `sluice check` of a streaming source: connects, and says how many messages the stream holds
 * (and, for NATS, that JetStream has the stream). Throws a SluiceError naming the broker (never a
 * password) when it cannot.
 */
export async function checkStreamSource(config: NatsSourceConfig | RedisStreamSourceConfig): Promise<string> {
  if (config.type === "nats") {
    const { jetstreamManager } = await import("@nats-io/jetstream");
    const nc = await connectNats(config.url, "sluice-check", "source:nats");
    const display = parseNatsUrl(config.url, "source:nats").display;
    try {
      const info = await (await jetstreamManager(nc)).streams.info(config.stream).catch((err: unknown) => {
        throw new SluiceError(`JetStream stream \`${config.stream}\` does not exist on ${display}`, {
          component: "source:nats",
          stage: "check",
          hint: "create it (`sluice produce` and `sluice generate --out nats://...` create it), or fix `stream:`",
          cause: err,
        });
      });
      return `${display} stream ${config.stream}: ${info.state.messages} messages (sequences ${info.state.first_seq}..${info.state.last_seq})`;
    } finally {
      await nc.close();
    }
  }
  const client = await connectRedis(config.url, "sluice-check", "source:redis_stream");
  try {
    const length = await client.xlen(config.stream);
    return `${redactSecrets(config.url)} stream ${config.stream}: ${length} entries (group ${config.group})`;
  } finally {
    client.disconnect();
  }
}
