// The reader's controls act on what is drawn: the momentum slider changes
// the momentum trail (data and pixels), a click on the map moves the start,
// the keyboard drives playback, and a bad custom formula shows the C
// core's message without breaking the page.
import { execFileSync } from "node:child_process";
import { check, env, finish, near, openPage } from "./harness.mjs";

const { browser, page, errors } = await openPage();
const state = () => page.evaluate(() => window.ravineLive.state());
const mapPixels = () => page.locator("#map").screenshot();

try {
  await page.evaluate(() => window.ravineLive.seek(80));
  const before = await state();
  check(before.mu === 0.9 && before.trails.momentum && before.trails.momentum.length === 81,
        "momentum trail drawn to step 80 at mu 0.9", JSON.stringify({ mu: before.mu, n: before.trails.momentum?.length }));
  const pixelsBefore = await mapPixels();

  // Move the slider with the keyboard, as a reader without a mouse would.
  await page.focus("#mu");
  for (let i = 0; i < 40; i++) await page.keyboard.press("ArrowLeft");
  const after = await state();
  check(near(after.mu, 0.5, 1e-9) && (await page.textContent("#muOut")) === "0.50", "slider moved to 0.50 by keyboard",
        `mu ${after.mu}`);
  check(after.specs.momentum === "sgd(lr=0.02, momentum=0.5)", "momentum spec follows the slider", after.specs.momentum);
  const a = before.trails.momentum, b = after.trails.momentum;
  const differs = a.some((r, i) => Math.abs(r[0] - b[i][0]) + Math.abs(r[1] - b[i][1]) > 1e-3);
  check(differs, "momentum trail data changed with the slider");
  check(JSON.stringify(before.trails.sgd) === JSON.stringify(after.trails.sgd), "the SGD trail did not change");
  // The same trail as a direct trace with mu 0.5 from the C core.
  const direct = await page.evaluate((s) => window.ravineLive.trace({ surface: s.surface, optim: "sgd(lr=0.02, momentum=0.5)", start: s.start, steps: s.k }), after);
  check(JSON.stringify(direct) === JSON.stringify(b), "drawn trail is the C core's trace");
  const pixelsAfter = await mapPixels();
  check(!pixelsBefore.equals(pixelsAfter), "map pixels changed with the slider");

  // Nesterov needs momentum > 0: at mu = 0 its row shows the core's message, the others run on.
  await page.check("#on-nesterov");
  await page.fill("#mu", "0");
  const rowError = await page.textContent("#row-nesterov .row-error");
  check(rowError === "spec 'sgd(lr=0.02,momentum=0,nesterov=true)': nesterov=true needs momentum > 0 and dampening = 0, got momentum=0, dampening=0",
        "nesterov at mu 0 shows the core's message", rowError);
  const atZero = await state();
  check(!atZero.trails.nesterov && atZero.trails.momentum && atZero.trails.momentum.length === atZero.k + 1,
        "the other trails still run at mu 0");
  await page.fill("#mu", "0.5");
  check((await page.textContent("#row-nesterov .row-error")) === "", "the message goes away at mu 0.5");

  // Click the map: the start moves there and every trail restarts from it.
  const box = await page.locator("#map").boundingBox();
  const px = box.width * 0.7, py = box.height * 0.3;
  await page.mouse.click(box.x + px, box.y + py);
  await page.evaluate(() => window.ravineLive.pause());
  const clicked = await state();
  const v = clicked.view;
  const want = [v.x0 + px / v.w * (v.x1 - v.x0), v.y1 - py / v.h * (v.y1 - v.y0)];
  const onePixel = (v.x1 - v.x0) / v.w;   // the mouse lands on whole pixels
  check(Math.abs(clicked.start[0] - want[0]) <= onePixel && Math.abs(clicked.start[1] - want[1]) <= onePixel,
        "click sets the start under the pointer", `${clicked.start} vs ${want}`);
  check(clicked.start[0] > 0 && clicked.start[1] > 0, "click right of and above the centre gives x > 0, y > 0", String(clicked.start));
  const first = clicked.trails.sgd[0];
  check(near(first[0], clicked.start[0], 1e-6) && near(first[1], clicked.start[1], 1e-6), "SGD trail starts at the click",
        `${first} vs ${clicked.start}`);
  check(Number(await page.inputValue("#startX")) === clicked.start[0] && Number(await page.inputValue("#startY")) === clicked.start[1],
        "start fields show the click");
  check(String(clicked.start[0]).length <= 8, "the clicked start is rounded to a readable number", String(clicked.start[0]));
  const cliLine = await page.textContent("#eqCli");
  check(cliLine.includes(`--start ${clicked.start[0]},${clicked.start[1]} `), "the command line shows the start", cliLine);
  // ... and running it gives the drawn momentum trail (the panel follows Momentum by default).
  const argv = Array.from(cliLine.matchAll(/'([^']*)'|(\S+)/g), (m) => m[1] ?? m[2]);
  check(argv[0] === "ravine" && argv[1] === "trace", "the command line is a ravine trace call", cliLine);
  const cliRows = execFileSync(env("RAVINE"), argv.slice(1), { encoding: "utf8" }).trim().split("\n").slice(1)
    .map((l) => l.split(",").slice(1).map(Number));
  const full = await page.evaluate(() => { window.ravineLive.seek(1e9); return window.ravineLive.state(); });
  const drawn = full.trails.momentum;
  check(cliRows.length === drawn.length && drawn.every((r, k) => r.every((v, j) => near(v, cliRows[k][j], 1e-6))),
        "the command line reproduces the drawn trail", `${cliRows.length} vs ${drawn.length} rows`);

  // Keyboard playback: Reset, then Step twice with the arrow key.
  await page.locator("h1").click();
  await page.keyboard.press("r");
  check((await state()).k === 0, "R resets to step 0");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  check((await state()).k === 2, "ArrowRight steps");
  check(/step 2 \//.test(await page.textContent("#stepOut")), "step counter shows 2");
  const eq = await page.textContent("#equations");
  check(/update t = 2/.test(eq), "equations show update 2", eq.slice(0, 80));

  // The explained update of the selected optimizer shows the kernel's numbers.
  await page.selectOption("#explain", "adam");
  const adamEq = await page.textContent("#equations");
  check(/m ← β₁m/.test(adamEq) && /v ← β₂v/.test(adamEq), "Adam's equations are shown", adamEq.slice(0, 120));

  // A bad custom formula: the message from the C core, the page keeps working.
  await page.selectOption("#surface", "custom");
  await page.fill("#custom", "x^2 + (");
  await page.click("#customApply");
  const err = await page.textContent("#customError");
  check(err.length > 0, "bad formula shows an error", err);
  await page.fill("#custom", "(x - 1)^2 + 3*(y + 0.5)^2");
  await page.click("#customApply");
  check((await page.textContent("#customError")) === "", "good formula clears the error");
  const custom = await state();
  check(/^expr\(/.test(custom.surface), "custom surface is an expr spec", custom.surface);
  const g = await page.evaluate(() => window.ravineLive.gradcheck(2, 1));
  check(near(g.grad[0], 2, 1e-12) && near(g.grad[1], 9, 1e-12), "custom formula's gradient at (2, 1) is (2, 9)", JSON.stringify(g));

  check(errors.length === 0, "no console errors", errors.join(" | "));
} finally {
  await browser.close();
}
finish();
