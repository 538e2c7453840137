// The element-wise newcomers on the page: NAdam, RAdam, Adamax, Lion and
// Schedule-Free AdamW. Their traces equal `ravine trace` (Schedule-Free's
// average x equals `ravine trace --eval`), explained updates land on the
// trace rows, and the page draws and explains them when switched on.
// A picture of them goes to $RAVINE_BUILD/web/screenshots/live-newer.png (and
// to $RAVINE_SCREENSHOT_DIR when set, as for web_page_load).
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { check, env, finish, near, openPage } from "./harness.mjs";

const ravine = env("RAVINE");
const STEPS = 60;
const CASES = [
  { surface: "bowl", start: [-4, 1],
    optims: ["nadam(lr=0.25)", "radam(lr=0.32)", "adamax(lr=0.89)", "lion(lr=0.25)", "sfadamw(lr=0.89)",
             "nadam(lr=0.1, weight_decay=0.1, decoupled_weight_decay=true)", "lion(lr=0.1, betas=(0.95, 0.98), weight_decay=0.5)",
             "sfadamw(lr=0.5, warmup_steps=10, weight_decay=0.01)"] },
  { surface: "rosenbrock", start: [-1.5, 2],
    optims: ["nadam(lr=0.56)", "radam(lr=0.0056)", "adamax(lr=5)", "lion(lr=0.025)", "sfadamw(lr=1.8)"] },
];

function cliTrace(surface, optim, start, steps, extra = []) {
  const out = execFileSync(ravine, ["trace", "--surface", surface, "--optim", optim,
    "--start", start.join(","), "--steps", String(steps), ...extra], { encoding: "utf8" });
  const lines = out.trim().split("\n");
  if (lines[0] !== "step,x,y,loss") throw new Error(`unexpected header: ${lines[0]}`);
  return lines.slice(1).map((l) => l.split(",").slice(1).map((v) => (/nan/i.test(v) ? NaN : Number(v))));
}

function firstMismatch(got, want) {
  if (!Array.isArray(got) || got.length !== want.length) return `rows: page ${got && got.length}, cli ${want.length}`;
  for (let k = 0; k < want.length; k++)
    for (let j = 0; j < 3; j++)
      if (!near(got[k][j], want[k][j], 1e-6)) return `row ${k} col ${j}: page ${got[k][j]}, cli ${want[k][j]}`;
  return "";
}

const { browser, page, errors } = await openPage();
const trace = (a) => page.evaluate((x) => window.ravineLive.trace(x), a);
const explainAt = (a, k) => page.evaluate(([x, t]) => window.ravineLive.explainAt(x, t), [a, k]);
try {
  for (const c of CASES) {
    for (const optim of c.optims) {
      const label = `${c.surface} ${optim}`;
      const run = { surface: c.surface, optim, start: c.start, steps: STEPS };
      const got = await trace(run);
      const bad = firstMismatch(got, cliTrace(c.surface, optim, c.start, STEPS));
      check(!bad, `${label}: equals ravine trace to 1e-6`, bad);
      check(got.some((r) => r[0] !== c.start[0] || r[1] !== c.start[1]), `${label}: the point moves`);
      const avg = await trace({ ...run, eval: true });
      const badEval = firstMismatch(avg, cliTrace(c.surface, optim, c.start, STEPS, ["--eval"]));
      check(!badEval, `${label}: eval rows equal ravine trace --eval to 1e-6`, badEval);
      const isSf = optim.startsWith("sfadamw");
      check(isSf === avg.some((r, k) => r[0] !== got[k][0] || r[1] !== got[k][1]),
            `${label}: eval rows ${isSf ? "differ from" : "are"} the training rows`);
      for (const t of [1, 7, 30]) {
        const e = await explainAt({ surface: c.surface, optim, start: c.start }, t);
        check(e.x.after === got[t][0] && e.y.after === got[t][1] && e.x.before === got[t - 1][0],
              `${label}: explained update ${t} lands on row ${t}`,
              `explain (${e.x.after}, ${e.y.after}), trace (${got[t][0]}, ${got[t][1]})`);
        check(e.x.eval === avg[t][0] && e.y.eval === avg[t][1] && e.lossEval === avg[t][2],
              `${label}: explained eval point ${t} is eval row ${t}`);
      }
    }
  }

  // With a schedule the page's rows are the CLI's --schedule rows, x included.
  const schedule = "cosine(lr=0.89, t_max=60)";
  for (const optim of ["sfadamw(lr=0.89)", "lion(lr=0.25)"]) {
    const run = { surface: "bowl", optim, start: [-4, 1], steps: STEPS, schedule };
    const bad = firstMismatch(await trace(run), cliTrace("bowl", optim, [-4, 1], STEPS, ["--schedule", schedule]));
    const badEval = firstMismatch(await trace({ ...run, eval: true }),
                                  cliTrace("bowl", optim, [-4, 1], STEPS, ["--schedule", schedule, "--eval"]));
    check(!bad && !badEval, `bowl ${optim} with ${schedule}: equals ravine trace --schedule (and --eval)`, bad || badEval);
  }

  // By hand, Lion from (1, 1) on the bowl: every coordinate moves by lr against
  // sign(0.1 g); Schedule-Free's first update has weight 1, so x = y = z.
  const lion = await trace({ surface: "bowl", optim: "lion(lr=0.25)", start: [1, 1], steps: 2 });
  check(lion[1][0] === 0.75 && lion[1][1] === 0.75 && lion[2][0] === 0.5 && lion[2][1] === 0.5,
        "lion moves by lr per coordinate", JSON.stringify(lion));
  const sf = await explainAt({ surface: "bowl", optim: "sfadamw(lr=0.5)", start: [-4, 1] }, 1);
  check(sf.avgWeight === 1 && sf.lrMax === 0.5 && sf.weightSum === 0.25 && sf.x.after === -3.5 && sf.x.m === -3.5 &&
        sf.x.eval === -3.5, "sfadamw update 1 by hand: c = 1, y = z = x", JSON.stringify({ c: sf.avgWeight, x: sf.x }));

  // The page: switch each on; its trail is the core's trace of the spec shown.
  const state = () => page.evaluate(() => window.ravineLive.state());
  await page.evaluate(() => window.ravineLive.seek(40));
  const pixelsBefore = await page.locator("#map").screenshot();
  const want = { nadam: "nadam(lr=0.25)", radam: "radam(lr=0.32)", adamax: "adamax(lr=0.89)",
                 lion: "lion(lr=0.25)", sfadamw: "sfadamw(lr=0.89)" };
  for (const id of Object.keys(want)) {
    check(!(await page.isChecked(`#on-${id}`)), `${id} starts switched off`);
    await page.check(`#on-${id}`);
  }
  const s = await state();
  check(JSON.stringify(Object.fromEntries(Object.keys(want).map((id) => [id, s.specs[id]]))) === JSON.stringify(want),
        "bowl presets reach the specs", JSON.stringify(s.specs));
  for (const [id, optim] of Object.entries(want)) {
    const direct = await trace({ surface: s.surface, optim, start: s.start, steps: s.k });
    check(JSON.stringify(direct) === JSON.stringify(s.trails[id]), `${id}: drawn trail is the core's trace`);
    check(await page.isVisible(`#legend-${id}`), `${id}: in the legend`);
  }
  const avgDirect = await trace({ surface: s.surface, optim: want.sfadamw, start: s.start, steps: s.k, eval: true });
  check(s.evals.sfadamw && JSON.stringify(avgDirect) === JSON.stringify(s.evals.sfadamw),
        "sfadamw: the drawn average x is the core's eval trace");
  check(Object.keys(s.evals).join() === "sfadamw", "only Schedule-Free draws an average", Object.keys(s.evals).join());
  check(!pixelsBefore.equals(await page.locator("#map").screenshot()), "map pixels changed with the newcomers on");

  // The equations panel shows the core's numbers for this step, and what y, z, x are.
  await page.selectOption("#explain", "sfadamw");
  const e = await explainAt({ surface: s.surface, optim: want.sfadamw, start: s.start }, s.k);
  const text = await page.textContent("#equations");
  // the page's number format (5 significant digits, exponent outside [1e-3, 1e5))
  const fmt = (v) => (Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(4).replace("e+", "e") : String(Number(v.toPrecision(5))));
  for (const [what, v] of [["y after", e.x.after], ["z", e.x.m], ["x", e.x.eval], ["c", e.avgWeight]])
    check(text.includes(fmt(v)), `sfadamw panel shows ${what} = ${fmt(v)}`, text);
  check(/where the gradient is taken/.test(text) && /what eval mode holds/.test(text), "sfadamw panel says what y, z and x are");
  await page.selectOption("#explain", "lion");
  const el = await explainAt({ surface: s.surface, optim: want.lion, start: s.start }, s.k);
  const lionText = await page.textContent("#equations");
  check(lionText.includes("sign(c)") && lionText.includes(fmt(el.x.buf)) && lionText.includes(fmt(el.y.m)),
        "lion panel shows c and m", lionText);
  await page.selectOption("#explain", "radam");
  const radamText = await page.textContent("#equations");
  const er = await explainAt({ surface: s.surface, optim: want.radam, start: s.start }, s.k);
  check(er.rect > 0 && radamText.includes(fmt(er.rho)) && radamText.includes(fmt(er.rect)), "radam panel shows rho_t and r_t", radamText);
  await page.selectOption("#explain", "nadam");
  const en = await explainAt({ surface: s.surface, optim: want.nadam, start: s.start }, s.k);
  check((await page.textContent("#equations")).includes(fmt(en.muProduct)), "nadam panel shows the momentum product");

  // The picture for the docs: the five with Adam, Schedule-Free's update in the panel.
  for (const id of ["sgd", "momentum", "newton"]) await page.uncheck(`#on-${id}`);
  await page.selectOption("#explain", "sfadamw");
  await page.evaluate(() => window.ravineLive.seek(40));
  const shot = await page.screenshot({ fullPage: true });
  for (const d of [join(env("RAVINE_BUILD"), "web", "screenshots"), process.env.RAVINE_SCREENSHOT_DIR].filter(Boolean)) {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "live-newer.png"), shot);
  }

  // Another surface brings its own measured presets.
  await page.selectOption("#surface", "rosenbrock");
  const r = await state();
  check(r.specs.lion === "lion(lr=0.025)" && r.specs.sfadamw === "sfadamw(lr=1.8)" && r.specs.adamax === "adamax(lr=5)",
        "rosenbrock presets", JSON.stringify(r.specs));
  check(errors.length === 0, "no console errors", errors.join(" | "));
} finally {
  await browser.close();
}
finish();
