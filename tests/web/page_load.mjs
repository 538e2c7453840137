// The page loads from file:// with no console errors and no network, shows
// seed 002's gradient check, and renders non-blank at desktop and phone
// widths. Screenshots go to $RAVINE_BUILD/web/screenshots (and to
// $RAVINE_SCREENSHOT_DIR too when set, which is how docs/screenshots/ is made).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { check, env, finish, openPage, pixelVariety } from "./harness.mjs";

const outDirs = [join(env("RAVINE_BUILD"), "web", "screenshots")];
if (process.env.RAVINE_SCREENSHOT_DIR) outDirs.push(process.env.RAVINE_SCREENSHOT_DIR);
outDirs.forEach((d) => mkdirSync(d, { recursive: true }));

const VIEWPORTS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];

for (const vp of VIEWPORTS) {
  const { browser, page, errors, requests } = await openPage(vp);
  try {
    check(errors.length === 0, `${vp.name}: no console errors`, errors.join(" | "));
    check(requests.length === 0, `${vp.name}: no network requests`, requests.join(" "));
    check(await page.evaluate(() => typeof window.ravineLive?.trace === "function"), `${vp.name}: ravineLive.trace exists`);

    // Every control has a name a screen reader can say.
    const unnamed = await page.evaluate(() =>
      Array.from(document.querySelectorAll("input, select, button"))
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.textContent.trim())
        .map((el) => el.id || el.outerHTML.slice(0, 60)));
    check(unnamed.length === 0, `${vp.name}: every control is labelled`, unnamed.join(", "));

    // Nothing sticks out sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `${vp.name}: no horizontal overflow`, `${overflow}px too wide`);

    // The map fills a sensible share of the first screen.
    const box = await page.locator("#map").boundingBox();
    check(box && box.width >= Math.min(360, vp.width * 0.8) && box.height >= 300,
          `${vp.name}: map is large`, JSON.stringify(box));

    await page.evaluate(() => window.ravineLive.seek(60));
    await page.waitForTimeout(100);
    const shot = await page.screenshot();
    for (const d of outDirs) writeFileSync(join(d, `live-${vp.name}.png`), shot);
    const v = await pixelVariety(page, shot);
    check(v.distinct >= 200 && v.dominant < 0.6, `${vp.name}: screenshot is not blank`,
          `${v.distinct} colours, dominant ${(v.dominant * 100).toFixed(1)}%`);

    // the whole page too, for the README
    const full = await page.screenshot({ fullPage: true });
    for (const d of outDirs) writeFileSync(join(d, `live-${vp.name}-full.png`), full);

    const mapShot = await page.locator("#map").screenshot();
    const mv = await pixelVariety(page, mapShot);
    check(mv.distinct >= 100 && mv.dominant < 0.5, `${vp.name}: heat map is drawn`,
          `${mv.distinct} colours, dominant ${(mv.dominant * 100).toFixed(1)}%`);

    if (vp.name === "desktop") {
      // Seed 002: the gradient of 0.5(x^2 + 10y^2) is (x, 10y), checked at three points.
      const rows = await page.$$eval("#gradTable tbody tr", (trs) => trs.map((tr) => Array.from(tr.cells, (c) => c.textContent)));
      check(rows.length === 3, "gradient check has three test points", JSON.stringify(rows));
      const expect = [["(1, 1)", "(1, 10)"], ["(-2, 0.5)", "(-2, 5)"], ["(0.5, -1.5)", "(0.5, -15)"]];
      expect.forEach(([pt, grad], i) => {
        const r = rows[i] || [];
        check(r[0] === pt && r[1] === grad && r[2] === grad && /✓/.test(r[3] || ""),
              `gradient check at ${pt} is ${grad} both ways`, JSON.stringify(r));
      });
      const g = await page.evaluate(() => window.ravineLive.gradcheck(3, -1));
      check(g.grad[0] === 3 && g.grad[1] === -10 && Math.abs(g.central[1] + 10) < 1e-6 && g.f === 9.5,
            "gradcheck(3, -1) on the bowl", JSON.stringify(g));
      // Rosenbrock's minimum (1, 1): gradient 0, a difference of 4e-8 there passes
      await page.selectOption("#surface", "rosenbrock");
      const rr = await page.$$eval("#gradTable tbody tr", (trs) => trs.map((tr) => Array.from(tr.cells, (c) => c.textContent)));
      check(rr.length === 3 && rr[0][1] === "(0, 0)" && rr.every((r) => /✓/.test(r[3])), "gradient check passes at Rosenbrock's minimum",
            JSON.stringify(rr));
    }
  } finally {
    await browser.close();
  }
}
finish();
