import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Hono } from "hono";
import { CLIENT_SCRIPT } from "./client-script.js";
import { DASHBOARD_CSS } from "./dashboard-css.js";

/** uPlot's browser build and stylesheet, served from the installed package (no CDN). */
const UPLOT_FILES: Readonly<Record<string, string>> = {
  "uPlot.iife.min.js": "text/javascript; charset=utf-8",
  "uPlot.min.css": "text/css; charset=utf-8",
};

/** `node_modules/uplot/dist`, found the way Node resolves the package from this module. */
export function uplotDist(): string {
  return dirname(createRequire(import.meta.url).resolve("uplot"));
}

/**
 * Mounts `/assets/dashboard.js`, `/assets/dashboard.css` and `/assets/uplot/<file>` (the two files
 * above only). Files are read once, at mount; all are cacheable for an hour.
 */
export function mountAssets(app: Hono): void {
  const dist = uplotDist();
  const files = new Map<string, { body: string; type: string }>([
    ["/assets/dashboard.js", { body: CLIENT_SCRIPT, type: "text/javascript; charset=utf-8" }],
    ["/assets/dashboard.css", { body: DASHBOARD_CSS, type: "text/css; charset=utf-8" }],
  ]);
  for (const [name, type] of Object.entries(UPLOT_FILES)) {
    files.set(`/assets/uplot/${name}`, { body: readFileSync(join(dist, name), "utf8"), type });
  }
  app.get("/assets/*", (c) => {
    const file = files.get(c.req.path);
    if (!file) return c.notFound();
    return c.body(file.body, 200, { "content-type": file.type, "cache-control": "max-age=3600" });
  });
}
