import { afterEach, describe, expect, it } from "vitest";
import { SluiceError } from "../../errors.js";
import { parsePostgresUrl, scrubSecrets } from "./connection-url.js";
import { isTransientPgError, toPgSluiceError } from "./pg-errors.js";

describe("parsePostgresUrl", () => {
  const saved = process.env.DATABASE_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  });

  it("takes ORM-style ?schema= (and ?table=) out of the URL the driver gets, and hides the password", () => {
    const u = parsePostgresUrl(
      "postgresql://app:p%40ss%2Fw0rd@db.internal:6543/prod?schema=analytics&sslmode=require&connection_limit=5",
    );
    expect(u.schema).toBe("analytics");
    expect(u.password).toBe("p@ss/w0rd");
    expect(u.connectionString).toBe("postgresql://app:p%40ss%2Fw0rd@db.internal:6543/prod?sslmode=require");
    expect(u.display).toBe("postgresql://app:***@db.internal:6543/prod");
    expect(parsePostgresUrl("postgres://localhost/db?table=BehavioralEvent").table).toBe("BehavioralEvent");
    expect(parsePostgresUrl("postgres://bob@localhost/db").display).toBe("postgres://bob@localhost:5432/db");
  });

  it("falls back to DATABASE_URL, and says what to do when neither is set", () => {
    process.env.DATABASE_URL = "postgres://u:secret@h:5432/d";
    expect(parsePostgresUrl(undefined).display).toBe("postgres://u:***@h:5432/d");
    delete process.env.DATABASE_URL;
    const err = (() => {
      try {
        parsePostgresUrl(undefined);
      } catch (e) {
        return e as SluiceError;
      }
    })();
    expect(err).toBeInstanceOf(SluiceError);
    expect(err!.exitCode).toBe(2);
    expect(err!.hint).toContain("DATABASE_URL");
  });

  it("never echoes a password that was not percent-encoded, whether or not the URL parses", () => {
    const raw = "postgres://app:p/a#s?s w@rd@db.internal:5432/prod";
    const err = (() => {
      try {
        parsePostgresUrl(raw);
      } catch (e) {
        return e as SluiceError;
      }
    })();
    expect(err).toBeInstanceOf(SluiceError);
    expect(err!.exitCode).toBe(2);
    expect(err!.message).toBe("not a URL: postgres://app:***@db.internal:5432/prod");
    // Parses, but as host "u", port 123: the display must still hide what was meant as the password.
    const odd = parsePostgresUrl("postgres://u:123/x@h/db");
    expect(odd.display).not.toContain("123/x");
    expect(odd.display).toContain(":***@h");
  });

  it("rejects other schemes without echoing the password", () => {
    expect(() => parsePostgresUrl("mysql://root:topsecret@h/db")).toThrow(/mysql:\/\/root:\*\*\*@h\/db/);
  });
});

describe("scrubSecrets and error classification", () => {
  it("removes the password in any form from error text", () => {
    const text = 'connect failed for postgres://a:pa ss@h/d password=pa ss, raw "pa ss", encoded pa%20ss';
    const out = scrubSecrets(text, "pa ss");
    expect(out).not.toContain("pa ss");
    expect(out).not.toContain("pa%20ss");
  });

  it("does not mask the database name when the password equals it", () => {
    const url = parsePostgresUrl("postgres://app:test@h:5432/test");
    expect(url.display).toBe("postgres://app:***@h:5432/test");
    const auth = Object.assign(new Error('password authentication failed for user "app"'), { code: "28P01" });
    const e = toPgSluiceError(auth, { component: "c", stage: "extract", ...url, doing: "connecting to" });
    expect(e.message).toBe(
      'connecting to postgres://app:***@h:5432/test: password authentication failed for user "app" (28P01)',
    );
    const missing = new Error('database "test" does not exist');
    expect(scrubSecrets(`${url.display}: ${missing.message}`, url.password, url.display)).toBe(
      'postgres://app:***@h:5432/test: database "test" does not exist',
    );
  });

  it("marks connection trouble transient and everything else terminal", () => {
    const pgError = (code: string) => Object.assign(new Error(`error ${code}`), { code });
    for (const code of ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "57P01", "40001", "08006", "08001", "53300"]) {
      expect(isTransientPgError(pgError(code)), code).toBe(true);
    }
    for (const code of ["28P01", "28000", "42P01", "42501", "42601", "3D000", "22P02", "EPERM"]) {
      expect(isTransientPgError(pgError(code)), code).toBe(false);
    }
    expect(isTransientPgError(new Error("Connection terminated unexpectedly"))).toBe(true);
    const refused = Object.assign(new AggregateError([pgError("ECONNREFUSED")], ""), {});
    expect(isTransientPgError(refused)).toBe(true);
  });

  it("gives terminal errors a hint and never leaks the password through the message", () => {
    const auth = Object.assign(new Error('password authentication failed for user "app" (tried hunter2)'), {
      code: "28P01",
    });
    const e = toPgSluiceError(auth, {
      component: "source:postgres",
      stage: "extract",
      display: "postgres://app:***@h:5432/d",
      password: "hunter2",
      doing: "connecting to",
    });
    expect(e.transient).toBe(false);
    expect(e.message).toBe(
      'connecting to postgres://app:***@h:5432/d: password authentication failed for user "app" (tried ***) (28P01)',
    );
    expect(e.hint).toContain("user and password");
  });
});
