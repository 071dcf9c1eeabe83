import { describe, expect, it } from "vitest";
import { redactDeep, redactSecrets } from "./redact.js";

/** A password no URL parser takes apart correctly: every URL delimiter, a space and an `@`. */
const NASTY = "p/a#s?s w@rd";

describe("redactSecrets", () => {
  it("masks the whole userinfo password up to the last @ before the host, even when the URL does not parse", () => {
    const url = `postgres://app:${NASTY}@db.internal:5432/prod`;
    expect(() => new URL(url)).toThrow();
    expect(redactSecrets(url)).toBe("postgres://app:***@db.internal:5432/prod");
    expect(redactSecrets(`not a URL: ${url} (check it)`)).toBe(
      "not a URL: postgres://app:***@db.internal:5432/prod (check it)",
    );
    expect(redactSecrets("postgresql://u:a@b@c@h/d?sslmode=require")).toBe("postgresql://u:***@h/d?sslmode=require");
    expect(redactSecrets("redis://:pw@cache:6379/0")).toBe("redis://:***@cache:6379/0");
  });

  it("masks by position: a password that is also the database name leaves the name readable", () => {
    expect(redactSecrets("postgres://app:prod@db:5432/prod")).toBe("postgres://app:***@db:5432/prod");
    expect(redactSecrets("postgres://prod:prod@prod/prod")).toBe("postgres://prod:***@prod/prod");
    expect(redactSecrets('database "test" of postgres://postgres:test@127.0.0.1:5432/test')).toBe(
      'database "test" of postgres://postgres:***@127.0.0.1:5432/test',
    );
  });

  it("leaves URLs without a password alone, and stops at the end of the line and at the next URL", () => {
    for (const text of ["postgres://bob@localhost/db", "postgres://localhost:5432/db?schema=x", "http://h:8080/a"]) {
      expect(redactSecrets(text)).toBe(text);
    }
    expect(redactSecrets("from postgres://a:x y@h1/d\nsent by ops@example.com")).toBe(
      "from postgres://a:***@h1/d\nsent by ops@example.com",
    );
    expect(redactSecrets(`copy postgres://a:${NASTY}@h1/d to postgres://b:s3cr@t@h2:5433/e`)).toBe(
      "copy postgres://a:***@h1/d to postgres://b:***@h2:5433/e",
    );
  });

  it("masks password= style parameters and every string of a record", () => {
    expect(redactSecrets("host=h password=hunter2 user=u")).toBe("host=h password=*** user=u");
    const record = { error: { message: `not a URL: postgres://u:${NASTY}@h/db` }, list: ["mysql://r:${x}@h"] };
    const out = JSON.stringify(redactDeep(record));
    expect(out).not.toContain("p/a#s");
    expect(out).not.toContain("w@rd");
    expect(out).toContain("postgres://u:***@h/db");
  });
});

describe("redactSecrets on malformed authorities", () => {
  it("masks up to the last @ even when what follows the host is not a valid port", () => {
    expect(redactSecrets("postgres://u:p/a#s?s w@rd@127.0.0.1:5432:5432/test")).toBe(
      "postgres://u:***@127.0.0.1:5432:5432/test",
    );
    expect(redactSecrets("postgres://u:pa@ss:word@h:1/d")).toBe("postgres://u:***@h:1/d");
  });
});
