// The Delta writer against real files: append/append/replace read back with the reader (rows, partition
// values, versions, time travel), the txn exactly-once mark, two writers at once (two engines, two
// processes), checkpoints read back, and a replay of the log by the protocol alone.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../engine/engine.js";
import { literal } from "../../engine/sql.js";
import { appendToDelta, replaceDelta } from "./append-to-delta.js";
import { createDeltaView } from "./delta-scan-sql.js";
import { readDeltaSnapshot } from "./read-delta-snapshot.js";
import { resolveDataPath } from "./resolve-data-path.js";

const here = new URL(".", import.meta.url).pathname;

/** A batch of `n` rows with ids from `first`, days cycling over `days`. */
async function makeBatch(engine: Engine, name: string, first: number, n: number, days: string[]): Promise<void> {
  const dayList = `[${days.map(literal).join(", ")}]`;
  await engine.run(
    `CREATE OR REPLACE TABLE ${name} AS SELECT (${first} + i)::BIGINT AS id, 'n' || (${first} + i) AS name,
       TIMESTAMP '2024-01-01 00:00:00' + to_minutes(${first} + i) AS ts, ((${first} + i) * 1.25)::DECIMAL(12, 2) AS amount,
       ${dayList}[1 + (i % ${days.length})] AS region, CAST(DATE '2024-01-01' + (i % 2)::INT AS DATE) AS day
     FROM range(${n}) r(i)`,
  );
}

async function rows(engine: Engine, root: string, version?: number): Promise<Record<string, unknown>[]> {
  const snap = await readDeltaSnapshot(root, version === undefined ? {} : { version }, engine);
  await createDeltaView(engine, "v", snap);
  return engine.all(
    "SELECT id, name, strftime(ts, '%Y-%m-%d %H:%M') AS ts, amount::VARCHAR AS amount, region, day::VARCHAR AS day FROM v ORDER BY id",
  );
}

function parquetFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(
    (f) => f.endsWith(".parquet") && !f.startsWith("_delta_log"),
  );
}

/** The child script: appends `count` batches with txn (appId, k), resuming after the table's txn. */
function childScript(dir: string): string {
  const path = join(dir, "child.mts");
  writeFileSync(
    path,
    `import { Engine } from ${JSON.stringify(join(here, "../../engine/engine.ts"))};
import { appendToDelta } from ${JSON.stringify(join(here, "append-to-delta.ts"))};
import { readDeltaSnapshot } from ${JSON.stringify(join(here, "read-delta-snapshot.ts"))};
const [root, appId, countArg, base, interval] = process.argv.slice(2);
const engine = await Engine.open({ threads: 1 });
let start = 0;
try { start = ((await readDeltaSnapshot(root, {}, engine)).txns[appId]?.version ?? -1) + 1; } catch {}
process.stdout.write("ready\\n");
for (let k = start; k < start + Number(countArg); k++) {
  await engine.run(\`CREATE OR REPLACE TABLE b AS SELECT (\${Number(base) + k * 10} + i)::BIGINT AS id, 'n' || i AS name,
    TIMESTAMP '2024-01-01 00:00:00' + to_minutes(i) AS ts, (i * 1.25)::DECIMAL(12, 2) AS amount,
    CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END AS region, CAST(DATE '2024-01-01' + (i % 3)::INT AS DATE) AS day FROM range(10) r(i)\`);
  const r = await appendToDelta(engine, root, "b", { partitionColumns: ["day"], appId, txnVersion: k, checkpointInterval: Number(interval) });
  process.stdout.write(r.status + " " + r.version + "\\n");
}
engine.close();
`,
  );
  return path;
}

function runChild(script: string, args: string[]): { done: Promise<number>; kill: () => void; ready: Promise<void> } {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    if (out.includes("ready")) markReady();
  });
  const done = new Promise<number>((res) => child.on("exit", (code, signal) => res(signal ? -1 : (code ?? 1))));
  return { done, ready, kill: () => child.kill("SIGKILL") };
}

describe("the Delta writer", () => {
  let engine: Engine;
  let dir: string;
  beforeAll(async () => {
    engine = await Engine.open({ threads: 2 });
    dir = mkdtempSync(join(tmpdir(), "delta-write-"));
  });
  afterAll(() => {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("appends, appends, replaces, and the reader reads every version back", async () => {
    const root = join(dir, "rt");
    await makeBatch(engine, "b1", 0, 4, ["eu", "a b/c%d:e"]);
    const r0 = await appendToDelta(engine, root, "b1", { partitionColumns: ["region", "day"], runId: "run-1" });
    expect(r0).toMatchObject({ status: "committed", version: 0, filesAdded: 2 });
    await makeBatch(engine, "b2", 10, 2, ["us"]);
    expect((await appendToDelta(engine, root, "b2", {})).version).toBe(1);
    await makeBatch(engine, "b3", 100, 3, ["eu"]);
    const r2 = await replaceDelta(engine, root, "b3", {});
    expect(r2).toMatchObject({ status: "committed", version: 2, filesRemoved: 4 });

    const v0 = await rows(engine, root, 0);
    expect(v0).toEqual([
      { id: 0n, name: "n0", ts: "2024-01-01 00:00", amount: "0.00", region: "eu", day: "2024-01-01" },
      { id: 1n, name: "n1", ts: "2024-01-01 00:01", amount: "1.25", region: "a b/c%d:e", day: "2024-01-02" },
      { id: 2n, name: "n2", ts: "2024-01-01 00:02", amount: "2.50", region: "eu", day: "2024-01-01" },
      { id: 3n, name: "n3", ts: "2024-01-01 00:03", amount: "3.75", region: "a b/c%d:e", day: "2024-01-02" },
    ]);
    expect((await rows(engine, root, 1)).map((r) => r.id)).toEqual([0n, 1n, 2n, 3n, 10n, 11n]);
    expect((await rows(engine, root)).map((r) => r.id)).toEqual([100n, 101n, 102n]);

    const snap = await readDeltaSnapshot(root, { version: 0 }, engine);
    expect(snap.protocol).toMatchObject({ minReaderVersion: 1, minWriterVersion: 2 });
    expect(snap.metadata.partitionColumns).toEqual(["region", "day"]);
    expect(snap.metadata.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ["id", "long"],
      ["name", "string"],
      ["ts", "timestamp"],
      ["amount", "decimal(12,2)"],
      ["region", "string"],
      ["day", "date"],
    ]);
    const special = snap.files.find((f) => f.partitionValues.region === "a b/c%d:e")!;
    expect(existsSync(special.path)).toBe(true);
    expect(special.relPath).toMatch(/^region=a%2520b%252Fc%2525d%253Ae\/day=2024-01-02\/part-/);
    expect(special.stats).toMatchObject({
      numRecords: 2,
      minValues: { id: 1, name: "n1", ts: "2024-01-01T00:01:00.000Z", amount: 1.25 },
      nullCount: { id: 0 },
    });
    expect(snap.commitInfo).toMatchObject({ operation: "WRITE", sluiceRunId: "run-1" });
    expect(String(snap.commitInfo?.engineInfo)).toMatch(/^sluice\//);
    // Time travel by timestamp: as of version 1's commit.
    const t1 = (await readDeltaSnapshot(root, { version: 1 }, engine)).commitInfo!.timestamp as number;
    expect((await readDeltaSnapshot(root, { timestamp: new Date(t1) }, engine)).version).toBe(1);
    // No staging folder or hidden commit left.
    expect(readdirSync(root).filter((n) => n.startsWith("."))).toEqual([]);
    expect(readdirSync(join(root, "_delta_log")).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("commits the same txn appId and version once", async () => {
    const root = join(dir, "txn");
    await makeBatch(engine, "b", 0, 5, ["eu"]);
    expect((await appendToDelta(engine, root, "b", { appId: "p", txnVersion: 7 })).status).toBe("committed");
    const files = parquetFiles(root).length;
    const again = await appendToDelta(engine, root, "b", { appId: "p", txnVersion: 7 });
    expect(again).toMatchObject({ status: "held", version: 0, filesAdded: 0 });
    expect((await appendToDelta(engine, root, "b", { appId: "p", txnVersion: 3 })).status).toBe("held");
    expect(parquetFiles(root).length).toBe(files);
    expect((await readDeltaSnapshot(root, {}, engine)).txns.p).toMatchObject({ version: 7 });
    expect(await rows(engine, root)).toHaveLength(5);
  });

  it("lands two writers' commits in order, none lost (two engines, then two processes)", async () => {
    const root = join(dir, "race");
    const other = await Engine.open({ threads: 1 });
    try {
      const writer = async (e: Engine, tag: string, base: number) => {
        for (let k = 0; k < 5; k++) {
          await makeBatch(e, `w${tag}`, base + k * 10, 10, ["eu"]);
          await appendToDelta(e, root, `w${tag}`, { partitionColumns: ["day"], appId: tag, txnVersion: k });
        }
      };
      await Promise.all([writer(engine, "a", 0), writer(other, "b", 1000)]);
    } finally {
      other.close();
    }
    let snap = await readDeltaSnapshot(root, {}, engine);
    expect(snap.version).toBe(9);
    expect(snap.txns).toMatchObject({ a: { version: 4 }, b: { version: 4 } });
    expect(await rows(engine, root)).toHaveLength(100);

    const script = childScript(dir);
    const c1 = runChild(script, [root, "c1", "5", "5000", "10"]);
    const c2 = runChild(script, [root, "c2", "5", "9000", "10"]);
    expect(await Promise.all([c1.done, c2.done])).toEqual([0, 0]);
    snap = await readDeltaSnapshot(root, {}, engine);
    expect(snap.version).toBe(19);
    expect(snap.txns).toMatchObject({ c1: { version: 4 }, c2: { version: 4 } });
    const ids = (await rows(engine, root)).map((r) => Number(r.id));
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
    for (let v = 0; v <= 19; v++)
      expect(existsSync(join(root, "_delta_log", `${String(v).padStart(20, "0")}.json`))).toBe(true);
  });

  it("writes checkpoints the reader reads back identically, and the protocol alone replays them", async () => {
    const root = join(dir, "cp");
    for (let k = 0; k < 13; k++) {
      await makeBatch(engine, "b", k * 10, 4, ["eu", "us"]);
      const write = k === 6 ? replaceDelta : appendToDelta;
      const r = await write(engine, root, "b", {
        partitionColumns: ["region"],
        appId: "cp",
        txnVersion: k,
        checkpointInterval: 5,
      });
      expect(r.checkpoint).toBe(r.version > 0 && r.version % 5 === 0 ? r.version : undefined);
    }
    const log = join(root, "_delta_log");
    expect(JSON.parse(readFileSync(join(log, "_last_checkpoint"), "utf8"))).toMatchObject({ version: 10 });
    const withCp = await readDeltaSnapshot(root, {}, engine);
    expect(withCp.checkpointVersion).toBe(10);
    const at7 = await readDeltaSnapshot(root, { version: 7 }, engine);
    expect(at7.checkpointVersion).toBe(5);

    // Independent replay: the checkpoint read with read_parquet, then the JSON commits after it.
    const active = new Map<string, string>();
    const cp = await engine.all<{ path: string }>(
      `SELECT add.path AS path FROM read_parquet(${literal(join(log, "00000000000000000010.checkpoint.parquet"))}) WHERE add IS NOT NULL`,
    );
    for (const { path } of cp) active.set(decodeURIComponent(path), path);
    for (const v of [11, 12]) {
      for (const line of readFileSync(join(log, `${String(v).padStart(20, "0")}.json`), "utf8").split("\n")) {
        if (!line) continue;
        const a = JSON.parse(line);
        if (a.add) active.set(decodeURIComponent(a.add.path), a.add.path);
        if (a.remove) active.delete(decodeURIComponent(a.remove.path));
      }
    }
    expect([...active.keys()].sort()).toEqual(withCp.files.map((f) => decodeURIComponent(f.relPath)).sort());

    // Without the checkpoints the reader replays JSON from 0 to the same state.
    const cpRows = await rows(engine, root);
    for (const n of readdirSync(log)) if (n.includes("checkpoint")) unlinkSync(join(log, n));
    const noCp = await readDeltaSnapshot(root, {}, engine);
    expect(noCp.checkpointVersion).toBeUndefined();
    const key = (s: typeof noCp) =>
      s.files.map((f) => JSON.stringify([f.path, f.partitionValues, f.size, f.stats])).sort();
    expect(key(noCp)).toEqual(key(withCp));
    expect(noCp.txns.cp?.version).toBe(withCp.txns.cp?.version);
    expect(noCp.metadata).toEqual(withCp.metadata);
    expect(await rows(engine, root)).toEqual(cpRows);
    expect(cpRows).toHaveLength(7 * 4);
    for (const f of withCp.files) expect(resolveDataPath(root, f.relPath)).toBe(f.path);
  });

  it("leaves a committed version after SIGKILL at random moments of appends, and the next append succeeds", async () => {
    const root = join(dir, "kill");
    const script = childScript(dir);
    for (let round = 0; round < 10; round++) {
      const child = runChild(script, [root, "k", "1000", "0", "3"]);
      await child.ready;
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      child.kill();
      await child.done;
      const snap = await readDeltaSnapshot(root, {}, engine).catch(() => undefined);
      if (!snap) continue; // killed before version 0 was committed: no table yet
      for (const f of snap.files) expect(existsSync(f.path)).toBe(true);
      const last = snap.txns.k?.version ?? -1;
      const ids = (await rows(engine, root)).map((r) => Number(r.id));
      const want = Array.from({ length: (last + 1) * 10 }, (_, i) => i);
      expect(ids).toEqual(want);
    }
    const next = runChild(script, [root, "k", "1", "0", "3"]);
    expect(await next.done).toBe(0);
    const snap = await readDeltaSnapshot(root, {}, engine);
    expect((await rows(engine, root)).length).toBe(((snap.txns.k?.version ?? -1) + 1) * 10);
    expect(snap.txns.k!.version).toBeGreaterThanOrEqual(0);
  });
});
