// Shared helpers of the browser tests: find the built page, drive Debian's
// chromium with playwright-core, collect console errors, count checks.
//
// Environment (set by tests/web.cmake):
//   RAVINE_WEB_PAGE  the built single-file page (build/web/index.html)
//   RAVINE           the CLI, for comparisons
//   RAVINE_SOURCE    the source tree (web/node_modules lives there)
//   RAVINE_CHROMIUM  the browser (default /usr/bin/chromium)
// A test exits 77 (CTest: skipped) when the browser or playwright-core is
// missing, and 1 when any check fails.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const SKIP = 77;

let passed = 0, failed = 0;

export function check(ok, what, detail = "") {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL ${what}${detail ? ": " + detail : ""}`);
  }
  return ok;
}

// Print the closing count line and exit with the test's status.
export function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

function skip(why) {
  console.log(`skipped: ${why}`);
  process.exit(SKIP);
}

export function env(name) {
  const v = process.env[name];
  if (!v) {
    console.log(`FAIL environment variable ${name} is not set`);
    process.exit(1);
  }
  return v;
}

function loadPlaywright() {
  const source = env("RAVINE_SOURCE");
  try {
    return createRequire(join(source, "web", "package.json"))("playwright-core");
  } catch {
    skip("playwright-core is not installed (run scripts/setup.sh, which runs npm ci in web/)");
  }
}

// Launch chromium and open the page at the given viewport; resolves once the
// page has set body[data-ready="1"]. errors collects console errors and
// uncaught exceptions.
export async function openPage({ width = 1280, height = 800, reducedMotion = "reduce" } = {}) {
  const page_path = env("RAVINE_WEB_PAGE");
  if (!existsSync(page_path)) {
    console.log(`FAIL the page was not built: ${page_path}`);
    process.exit(1);
  }
  const executablePath = process.env.RAVINE_CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(executablePath)) skip(`no browser at ${executablePath}`);
  const { chromium } = loadPlaywright();
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  const context = await browser.newContext({ viewport: { width, height }, reducedMotion, offline: true });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => { if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url()); });
  await page.goto(pathToFileURL(page_path).href);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  return { browser, page, errors, requests };
}

// Distinct colours (5 bits a channel) and the share of the most common one in
// a PNG, decoded and counted by the page itself (the browser has the codec).
export async function pixelVariety(page, png) {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width; c.height = img.height;
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const rgba = ctx.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map();
    let n = 0;
    for (let i = 0; i < rgba.length; i += 4) {
      const key = (rgba[i] >> 3) << 10 | (rgba[i + 1] >> 3) << 5 | rgba[i + 2] >> 3;
      counts.set(key, (counts.get(key) || 0) + 1);
      n++;
    }
    return { distinct: counts.size, dominant: Math.max(...counts.values()) / n };
  }, png.toString("base64"));
}

export function near(a, b, tol) {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}
