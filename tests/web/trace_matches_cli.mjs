// window.ravineLive.trace (the WebAssembly core) gives the rows of
// `ravine trace` (the native CLI) to 1e-6, for every optimizer on the bowl
// and on Rosenbrock; and the equations panel's replay of an update lands
// exactly on the trace's next point.
import { execFileSync } from "node:child_process";
import { check, env, finish, near, openPage } from "./harness.mjs";

const ravine = env("RAVINE");
const STEPS = 60;

const CASES = [
  {
    surface: "bowl", start: [-4, 1],
    optims: ["sgd(lr=0.18)", "sgd(lr=0.02, momentum=0.9)", "sgd(lr=0.02, momentum=0.9, nesterov=true)",
             "adam(lr=0.3)", "adamw(lr=0.3, weight_decay=0.1)", "rmsprop(lr=0.05)", "adagrad(lr=1)",
             "polyak(lr=0.15, beta=0.9)", "newton"],
  },
  {
    surface: "rosenbrock", start: [-1.5, 2],
    optims: ["sgd(lr=0.001)", "sgd(lr=0.0003, momentum=0.9)", "sgd(lr=0.0003, momentum=0.9, nesterov=true)",
             "adam(lr=0.05)", "adamw(lr=0.05)", "rmsprop(lr=0.01)", "adagrad(lr=0.5)",
             "polyak(lr=0.002, beta=0.9)", "newton(damping=0.1, lr=0.5)"],
  },
];

function cliTrace(surface, optim, start, steps, schedule) {
  const out = execFileSync(ravine, ["trace", "--surface", surface, "--optim", optim,
    "--start", start.join(","), "--steps", String(steps), ...(schedule ? ["--schedule", schedule] : [])],
    { encoding: "utf8" });
  const lines = out.trim().split("\n");
  if (lines[0] !== "step,x,y,loss") throw new Error(`unexpected header: ${lines[0]}`);
  return lines.slice(1).map((l) => l.split(",").slice(1).map((v) => (/nan/i.test(v) ? NaN : Number(v))));
}

const { browser, page, errors } = await openPage();
try {
  for (const c of CASES) {
    for (const optim of c.optims) {
      const want = cliTrace(c.surface, optim, c.start, STEPS);
      const got = await page.evaluate((a) => window.ravineLive.trace(a),
        { surface: c.surface, optim, start: c.start, steps: STEPS });
      const label = `${c.surface} ${optim}`;
      if (!check(Array.isArray(got) && got.length === STEPS + 1 && want.length === STEPS + 1,
                 `${label}: ${STEPS + 1} rows`, `page ${got && got.length}, cli ${want.length}`)) continue;
      let worst = "";
      for (let k = 0; k <= STEPS && !worst; k++)
        for (let j = 0; j < 3; j++)
          if (!near(got[k][j], want[k][j], 1e-6)) { worst = `row ${k} col ${j}: page ${got[k][j]}, cli ${want[k][j]}`; break; }
      check(!worst, `${label}: equals ravine trace to 1e-6`, worst);
      check(got[0][0] === c.start[0] && got[0][1] === c.start[1], `${label}: row 0 is the start`);
      const moved = got.some((r) => r[0] !== c.start[0] || r[1] !== c.start[1]);
      check(moved, `${label}: the point moves`);

      // The explained update t lands on trace row t, bit for bit (float32 params).
      if (!optim.startsWith("newton")) {
        for (const t of [1, 7, 30]) {
          const e = await page.evaluate(([o, k]) => window.ravineLive.explainAt(o, k),
            [{ surface: c.surface, optim, start: c.start }, t]);
          check(e.x.after === got[t][0] && e.y.after === got[t][1] && e.x.before === got[t - 1][0],
                `${label}: explained update ${t} lands on row ${t}`,
                `explain (${e.x.after}, ${e.y.after}), trace (${got[t][0]}, ${got[t][1]})`);
        }
      }
    }
  }

  // The page's schedules reach the core as specs too: same rows as --schedule.
  for (const [optim, schedule] of [["adam(lr=0.3)", "warmup_cosine(peak=0.3, warmup_steps=6, decay_steps=60)"],
                                   ["sgd(lr=0.02, momentum=0.9)", "step(lr=0.02, step_size=15, gamma=0.5)"],
                                   ["newton", "cosine(lr=1, t_max=60)"]]) {
    const want = cliTrace("bowl", optim, [-4, 1], STEPS, schedule);
    const got = await page.evaluate((a) => window.ravineLive.trace(a),
      { surface: "bowl", optim, start: [-4, 1], steps: STEPS, schedule });
    const bad = got.findIndex((r, k) => r.some((v, j) => !near(v, want[k][j], 1e-6)));
    check(bad < 0, `bowl ${optim} with ${schedule}: equals ravine trace --schedule`,
          bad < 0 ? "" : `row ${bad}: page ${got[bad]}, cli ${want[bad]}`);
    if (!optim.startsWith("newton")) {
      const e = await page.evaluate(([o, k]) => window.ravineLive.explainAt(o, k),
        [{ surface: "bowl", optim, start: [-4, 1], schedule }, 10]);
      check(e.x.after === got[10][0] && e.y.after === got[10][1], `bowl ${optim} with ${schedule}: explained update 10 lands on row 10`);
    }
  }

  // Seed 002's numbers by hand: SGD on the bowl, lr 0.1, from (1, 1):
  // x <- 0.9 x, y <- (1 - 0.1*10) y, loss 0.5*0.81. y is not quite 0: like
  // torch's param.add_(g, alpha=-lr), the update is one fused multiply-add,
  // 1 - 10*float(0.1) = -1.4901161193847656e-8.
  const r = await page.evaluate(() => window.ravineLive.trace({ surface: "bowl", optim: "sgd(lr=0.1)", start: [1, 1], steps: 1 }));
  check(near(r[1][0], 0.9, 1e-7) && r[1][1] === -1.4901161193847656e-8 && near(r[1][2], 0.405, 1e-6), "sgd step on the bowl by hand", JSON.stringify(r));

  // Errors come back as exceptions carrying the C core's message.
  const msg = await page.evaluate(() => {
    try { window.ravineLive.trace({ surface: "bowl", optim: "adam(lr=-1)", start: [1, 1], steps: 3 }); return "no error"; }
    catch (e) { return e.message; }
  });
  const cliMsg = (() => {
    try { execFileSync(ravine, ["trace", "--surface", "bowl", "--optim", "adam(lr=-1)", "--start", "1,1", "--steps", "3"], { stdio: "pipe" }); return ""; }
    catch (e) { return String(e.stderr); }
  })();
  check(msg !== "no error" && /lr/.test(msg) && cliMsg.includes(msg), "a bad spec fails with the CLI's message",
        `page: ${msg} | cli: ${cliMsg.trim()}`);
  check(errors.length === 0, "no console errors", errors.join(" | "));
} finally {
  await browser.close();
}
finish();
