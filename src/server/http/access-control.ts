import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";

/** The header every state-changing request must carry (the dashboard's script sends it). */
export const REQUEST_HEADER = "x-sluice-request";
export const TOKEN_COOKIE = "sluice_token";
/** Paths open without the token (load balancers do not hold it). */
const OPEN_PATHS = new Set(["/health"]);
const SAFE_METHODS = /^(GET|HEAD|OPTIONS)$/;

/** Whether binding `host` is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::ffff:127.0.0.1";
}

function sameSecret(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  // Hash both so the comparison takes the same time whatever the lengths.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(token).digest();
  return timingSafeEqual(a, b);
}

/**
 * Who may use the dashboard, and how. Contract:
 * - With a token (required by startHttp on any non-loopback bind): every path but /health needs
 *   `Authorization: Bearer <token>` or the `sluice_token` cookie. A browser opens `/?token=<token>`
 *   once: the token is checked, set as an HttpOnly SameSite=Strict cookie, and the URL is reloaded
 *   without it. Anything else is 401.
 * - Without a token (loopback only): the Host header must name a loopback host, so a page on
 *   another site cannot reach the dashboard by DNS rebinding.
 * - Cross-site requests: a state-changing request (POST ...) must carry `X-Sluice-Request: 1`
 *   (a custom header a cross-site form cannot send and a cross-site fetch cannot send without a
 *   CORS preflight, which this app never grants), and hono/csrf refuses form posts whose Origin or
 *   Sec-Fetch-Site is not this origin.
 */
export function accessControl(token: string | undefined): MiddlewareHandler[] {
  const guard: MiddlewareHandler = async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) return next();
    if (token === undefined) {
      if (!isLoopback(hostOf(c))) return c.text("this dashboard answers only to localhost names\n", 403);
    } else {
      const queryToken = c.req.query("token");
      if (queryToken !== undefined && SAFE_METHODS.test(c.req.method) && sameSecret(queryToken, token)) {
        setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/" });
        const url = new URL(c.req.url);
        url.searchParams.delete("token");
        return c.redirect(`${url.pathname}${url.search}`, 303);
      }
      const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
      if (!sameSecret(bearer, token) && !sameSecret(getCookie(c, TOKEN_COOKIE), token)) {
        c.header("WWW-Authenticate", 'Bearer realm="sluice"');
        return c.text(
          "401: this dashboard needs SLUICE_TOKEN (Authorization: Bearer <token>, or open /?token=<token>)\n",
          401,
        );
      }
    }
    if (!SAFE_METHODS.test(c.req.method) && c.req.header(REQUEST_HEADER) !== "1") {
      return c.text(`403: state-changing requests need the header ${REQUEST_HEADER}: 1\n`, 403);
    }
    return next();
  };
  return [guard, csrf()];
}

/** The hostname the client asked for (Host header without the port). */
function hostOf(c: Context): string {
  const host = c.req.header("host") ?? "";
  const m = /^(\[[^\]]+\]|[^:]+)/.exec(host);
  return m?.[1] ?? "";
}
