/* Gradient descent live: the page's interface.

   Every number this file draws comes from the C core (web/wasm_api.c, over
   libravine): surface values, gradients, traces, schedule curves and the
   intermediate values of an update. This file only asks, stores and draws. */
(function () {
  "use strict";

  // ---- the C core ---------------------------------------------------------

  function bindCore(M) {
    const num = "number", str = "string";
    const f = {
      error: M.cwrap("rvw_error", str, []),
      info: M.cwrap("rvw_surface_info", num, [str]),
      grid: M.cwrap("rvw_surface_grid", num, [str, num, num, num, num, num, num]),
      gradcheck: M.cwrap("rvw_gradcheck", num, [str, num, num, num]),
      trace: M.cwrap("rvw_trace", num, [str, str, str, num, num, num]),
      traceEval: M.cwrap("rvw_trace_eval", num, [str, str, str, num, num, num]),
      curve: M.cwrap("rvw_schedule_curve", num, [str, num]),
      explain: M.cwrap("rvw_explain", num, [str, str, str, num, num, num]),
      canonical: M.cwrap("rvw_optim_canonical", str, [str]),
    };
    // Copy n doubles out of the core's output buffer, or throw its message.
    function take(ptr, n) {
      if (!ptr) throw new Error(f.error() || "ravine core call failed");
      return Float64Array.from(M.HEAPF64.subarray(ptr / 8, ptr / 8 + n));
    }
    return {
      info(spec) {
        const o = take(f.info(spec), 10);
        return { lo: [o[0], o[1]], hi: [o[2], o[3]], start: [o[4], o[5]],
                 min: o[6] ? { x: o[7], y: o[8], f: o[9] } : null };
      },
      grid: (spec, nx, ny, x0, x1, y0, y1) => take(f.grid(spec, nx, ny, x0, x1, y0, y1), nx * ny),
      gradcheck(spec, x, y, h) {
        const o = take(f.gradcheck(spec, x, y, h), 5);
        return { f: o[0], grad: [o[1], o[2]], central: [o[3], o[4]] };
      },
      // inEval: the points eval mode holds (Schedule-Free's average x), `ravine trace --eval`
      trace(surface, optim, schedule, start, steps, inEval) {
        const call = inEval ? f.traceEval : f.trace;
        const o = take(call(surface, optim, schedule || "", start[0], start[1], steps), (steps + 1) * 3);
        const rows = new Array(steps + 1);
        for (let i = 0; i <= steps; i++) rows[i] = [o[3 * i], o[3 * i + 1], o[3 * i + 2]];
        return rows;
      },
      curve: (spec, n) => take(f.curve(spec, n), n),
      explain(surface, optim, schedule, start, k) {
        const o = take(f.explain(surface, optim, schedule || "", start[0], start[1], k), 38);
        const coord = (b) => ({
          grad: o[b], gradUsed: o[b + 1], buf: o[b + 2], m: o[b + 3], v: o[b + 4], vmax: o[b + 5],
          denom: o[b + 6], before: o[b + 7], decayed: o[b + 8], after: o[b + 9], eval: o[b + 10],
        });
        return { lr: o[0], lossBefore: o[1], lossAfter: o[2], nState: o[3], x: coord(4), y: coord(15),
                 stepSize: o[26], bias1: o[27], bias2: o[28], mu: o[29], muNext: o[30], muProduct: o[31],
                 rho: o[32], rect: o[33], avgWeight: o[34], lrMax: o[35], weightSum: o[36], lossEval: o[37] };
      },
      canonical(spec) {
        const s = f.canonical(spec);
        if (s === null || s === "") throw new Error(f.error());
        return s;
      },
    };
  }

  // ---- what the page offers -----------------------------------------------

  const SURFACES = {
    bowl: { spec: (s) => `bowl(kappa=${s.kappa})`, name: "bowl" },
    rosenbrock: { spec: () => "rosenbrock", name: "rosenbrock" },
    beale: { spec: () => "beale", name: "beale" },
    himmelblau: { spec: () => "himmelblau", name: "himmelblau" },
    saddle: { spec: () => "saddle", name: "saddle" },
    rastrigin: { spec: () => "rastrigin", name: "rastrigin" },
    delivery: { spec: () => "delivery", name: "delivery (raw)" },
    delivery_std: { spec: () => "delivery(standardize=true)", name: "delivery (standardized)" },
    custom: { spec: (s) => `expr(f="${s.custom.replace(/"/g, "")}")`, name: "custom" },
  };

  // Momentum-family optimizers take μ from the slider; the others keep their
  // torch defaults besides lr. The colours of the last five were chosen to be
  // at least as far apart (CIEDE2000) from every other trail as the first
  // nine are from each other. eval: also draw the points eval mode holds.
  const OPTIMS = [
    { id: "sgd", label: "SGD", color: "#ff6b6b", on: true, spec: (lr) => `sgd(lr=${lr})` },
    { id: "momentum", label: "Momentum", color: "#ffa657", on: true, spec: (lr, mu) => `sgd(lr=${lr}, momentum=${mu})` },
    { id: "nesterov", label: "Nesterov", color: "#f778ba", on: false, spec: (lr, mu) => `sgd(lr=${lr}, momentum=${mu}, nesterov=true)` },
    { id: "polyak", label: "Polyak", color: "#f2cc60", on: false, spec: (lr, mu) => `polyak(lr=${lr}, beta=${mu})` },
    { id: "adam", label: "Adam", color: "#7ee787", on: true, spec: (lr) => `adam(lr=${lr})` },
    { id: "adamw", label: "AdamW", color: "#56d4dd", on: false, spec: (lr) => `adamw(lr=${lr}, weight_decay=0.1)` },
    { id: "nadam", label: "NAdam", color: "#00aa00", on: false, spec: (lr) => `nadam(lr=${lr})` },
    { id: "radam", label: "RAdam", color: "#009977", on: false, spec: (lr) => `radam(lr=${lr})` },
    { id: "adamax", label: "Adamax", color: "#888833", on: false, spec: (lr) => `adamax(lr=${lr})` },
    { id: "rmsprop", label: "RMSprop", color: "#b392f0", on: false, spec: (lr) => `rmsprop(lr=${lr})` },
    { id: "adagrad", label: "Adagrad", color: "#79c0ff", on: false, spec: (lr) => `adagrad(lr=${lr})` },
    { id: "lion", label: "Lion", color: "#ccee00", on: false, spec: (lr) => `lion(lr=${lr})` },
    { id: "sfadamw", label: "Schedule-Free", color: "#dd11ff", on: false, eval: true, spec: (lr) => `sfadamw(lr=${lr})` },
    { id: "newton", label: "Newton", color: "#f0f6fc", on: true, spec: (lr) => `newton(lr=${lr})` },
  ];

  // Learning rates that show each method's character on each surface. The
  // newer five (nadam ... sfadamw) are measured: scripts/web_presets.py races
  // every slider value for 150 updates and takes the middle of the band that
  // reaches the sweep's threshold and stays below it (docs/web.md).
  const PRESETS = {
    bowl:         { sgd: 0.18, momentum: 0.02, nesterov: 0.02, polyak: 0.15, adam: 0.3, adamw: 0.3, rmsprop: 0.05, adagrad: 1, nadam: 0.25, radam: 0.32, adamax: 0.89, lion: 0.25, sfadamw: 0.89, newton: 1 },
    rosenbrock:   { sgd: 0.002, momentum: 0.001, nesterov: 0.0008, polyak: 0.01, adam: 0.1, adamw: 0.1, rmsprop: 0.05, adagrad: 0.8, nadam: 0.56, radam: 0.0056, adamax: 5, lion: 0.025, sfadamw: 1.8, newton: 1 },
    beale:        { sgd: 0.02, momentum: 0.005, nesterov: 0.005, polyak: 0.05, adam: 0.1, adamw: 0.1, rmsprop: 0.03, adagrad: 0.5, nadam: 0.25, radam: 0.089, adamax: 0.56, lion: 0.022, sfadamw: 0.5, newton: 1 },
    himmelblau:   { sgd: 0.01, momentum: 0.003, nesterov: 0.003, polyak: 0.03, adam: 0.3, adamw: 0.3, rmsprop: 0.05, adagrad: 0.5, nadam: 0.45, radam: 0.079, adamax: 0.56, lion: 0.1, sfadamw: 0.79, newton: 1 },
    saddle:       { sgd: 0.05, momentum: 0.01, nesterov: 0.01, polyak: 0.05, adam: 0.05, adamw: 0.05, rmsprop: 0.01, adagrad: 0.3, nadam: 0.028, radam: 0.22, adamax: 0.05, lion: 0.04, sfadamw: 0.045, newton: 1 },
    rastrigin:    { sgd: 0.002, momentum: 0.0005, nesterov: 0.0005, polyak: 0.005, adam: 0.3, adamw: 0.3, rmsprop: 0.1, adagrad: 0.05, nadam: 0.0079, radam: 0.01, adamax: 1.6, lion: 0.005, sfadamw: 1.8, newton: 1 },
    delivery:     { sgd: 0.005, momentum: 0.002, nesterov: 0.002, polyak: 0.02, adam: 1, adamw: 1, rmsprop: 0.3, adagrad: 2, nadam: 0.79, radam: 0.02, adamax: 2.5, lion: 0.14, sfadamw: 1.8, newton: 1 },
    delivery_std: { sgd: 0.1, momentum: 0.02, nesterov: 0.02, polyak: 0.1, adam: 0.3, adamw: 0.3, rmsprop: 0.02, adagrad: 0.2, nadam: 0.056, radam: 0.71, adamax: 0.4, lion: 0.02, sfadamw: 0.4, newton: 1 },
    custom:       { sgd: 0.05, momentum: 0.01, nesterov: 0.01, polyak: 0.05, adam: 0.1, adamw: 0.1, rmsprop: 0.03, adagrad: 0.5, nadam: 0.25, radam: 0.32, adamax: 0.89, lion: 0.25, sfadamw: 0.89, newton: 1 },
  };

  const GRAD_POINTS = [[1, 1], [-2, 0.5], [0.5, -1.5]];
  const GRAD_H = 1e-5;

  // High loss deep indigo, low loss pale sand: the minimum is the brightest place.
  const RAMP = [
    [0.0, [250, 246, 214]],
    [0.12, [196, 232, 176]],
    [0.3, [110, 196, 160]],
    [0.5, [48, 142, 150]],
    [0.7, [38, 88, 130]],
    [0.86, [34, 46, 96]],
    [1.0, [14, 16, 46]],
  ];

  function rampColor(t) {
    t = Math.min(1, Math.max(0, t));
    for (let i = 1; i < RAMP.length; i++) {
      if (t <= RAMP[i][0]) {
        const [t0, a] = RAMP[i - 1], [t1, b] = RAMP[i];
        const u = (t - t0) / (t1 - t0);
        return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
      }
    }
    return RAMP[RAMP.length - 1][1];
  }

  // ---- state --------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const state = {
    surfaceKey: "bowl", kappa: 10, custom: "0.5*(x^2 + 10*y^2)",
    mu: 0.9, steps: 150, speed: 30, schedule: "constant",
    start: null, k: 0, playing: false, explainId: "momentum",
    lr: {}, on: {},
  };
  OPTIMS.forEach((o) => { state.on[o.id] = o.on; });

  let core = null;
  let surface = null;          // { spec, info, view, heat, zlo, zhi, fmin }
  let trails = {};             // id -> { rows, evalRows (sfadamw's x), error, spec, schedule }

  const fmtNum = (v, p = 4) => {
    if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : (v > 0 ? "∞" : "−∞");
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) return v.toExponential(p - 1).replace("e+", "e");
    return String(Number(v.toPrecision(p)));
  };
  const specNum = (v) => String(Number(v.toPrecision(3)));
  const lrFromSlider = (s) => Number(Math.pow(10, s).toPrecision(2));

  const surfaceSpec = () => SURFACES[state.surfaceKey].spec(state);

  function optimSpec(o) {
    return o.spec(specNum(state.lr[o.id]), specNum(state.mu));
  }

  function scheduleSpec(lr) {
    const n = state.steps;
    switch (state.schedule) {
      case "step": return `step(lr=${lr}, step_size=${Math.max(1, Math.ceil(n / 4))}, gamma=0.5)`;
      case "cosine": return `cosine(lr=${lr}, t_max=${n})`;
      case "warmup_cosine": return `warmup_cosine(peak=${lr}, warmup_steps=${Math.max(1, Math.round(n / 10))}, decay_steps=${n})`;
      default: return "";
    }
  }

  // ---- computing (all in C) -----------------------------------------------

  function loadSurface() {
    const spec = surfaceSpec();
    const info = core.info(spec);
    surface = { spec, info, view: null, heat: null };
    $("surfaceName").textContent = "· " + spec;
    if (!state.start) state.start = info.start.slice();
  }

  function computeTrails() {
    trails = {};
    for (const o of OPTIMS) {
      if (!state.on[o.id]) continue;
      const lr = specNum(state.lr[o.id]);
      const spec = optimSpec(o);
      const sched = o.id === "newton" && state.schedule === "constant" ? "" : scheduleSpec(lr);
      try {
        trails[o.id] = { spec, schedule: sched, rows: core.trace(surface.spec, spec, sched, state.start, state.steps), error: "" };
        if (o.eval) trails[o.id].evalRows = core.trace(surface.spec, spec, sched, state.start, state.steps, true);
      } catch (e) {
        trails[o.id] = { spec, schedule: sched, rows: null, error: e.message };
      }
    }
    OPTIMS.forEach((o) => {
      const el = document.querySelector(`#row-${o.id} .row-error`);
      if (el) el.textContent = trails[o.id] ? trails[o.id].error : "";
    });
    state.k = Math.min(state.k, state.steps);
  }

  // Fit the surface's window into the canvas with equal scales on both axes.
  function fitView(w, h) {
    const { lo, hi } = surface.info;
    let x0 = lo[0], x1 = hi[0], y0 = lo[1], y1 = hi[1];
    const sx = w / (x1 - x0), sy = h / (y1 - y0);
    if (sx > sy) { const c = (x0 + x1) / 2, r = (w / sy) / 2; x0 = c - r; x1 = c + r; }
    else { const c = (y0 + y1) / 2, r = (h / sx) / 2; y0 = c - r; y1 = c + r; }
    return { x0, x1, y0, y1, w, h };
  }

  // Heat map and contour levels from the C core's grid of values.
  function computeHeat(view) {
    const nx = Math.max(40, Math.min(240, Math.round(view.w / 3)));
    const ny = Math.max(40, Math.min(240, Math.round(view.h / 3)));
    const vals = core.grid(surface.spec, nx, ny, view.x0, view.x1, view.y0, view.y1);
    let fmin = Infinity;
    for (const v of vals) if (Number.isFinite(v) && v < fmin) fmin = v;
    if (surface.info.min && Number.isFinite(surface.info.min.f)) fmin = Math.min(fmin, surface.info.min.f);
    const finite = Array.from(vals).filter(Number.isFinite).map((v) => v - fmin).sort((a, b) => a - b);
    // colour the middle of the distribution: from the 0.5% to the 98.5% quantile
    const top = finite.length ? finite[Math.floor(finite.length * 0.985)] : 1;
    const eps = Math.max(top * 1e-6, 1e-12);
    const bottom = finite.length ? finite[Math.floor(finite.length * 0.005)] : 0;
    const z = new Float64Array(vals.length);
    for (let i = 0; i < vals.length; i++) z[i] = Number.isFinite(vals[i]) ? Math.log10(vals[i] - fmin + eps) : NaN;
    const zlo = Math.log10(bottom + eps), zhi = Math.log10(top + eps);
    const img = new ImageData(nx, ny);
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const src = j * nx + i, dst = ((ny - 1 - j) * nx + i) * 4;   // rows run bottom-up in y
        const t = (z[src] - zlo) / (zhi - zlo);
        const c = Number.isFinite(t) ? rampColor(t) : [9, 11, 18];   // outside the domain
        img.data[dst] = c[0]; img.data[dst + 1] = c[1]; img.data[dst + 2] = c[2]; img.data[dst + 3] = 255;
      }
    }
    const off = document.createElement("canvas");
    off.width = nx; off.height = ny;
    off.getContext("2d").putImageData(img, 0, 0);
    const levels = [];
    for (let i = 1; i <= 11; i++) levels.push(zlo + (zhi - zlo) * i / 12);
    surface.heat = { off, nx, ny, z, levels, contours: contourSegments(z, nx, ny, levels), fmin, eps, zlo, zhi, top, bottom };
    drawRamp();
  }

  // Marching squares: line segments (in grid coordinates) of each level.
  function contourSegments(z, nx, ny, levels) {
    const out = [];
    for (const lv of levels) {
      const segs = [];
      for (let j = 0; j < ny - 1; j++) {
        for (let i = 0; i < nx - 1; i++) {
          const a = z[j * nx + i], b = z[j * nx + i + 1], c = z[(j + 1) * nx + i + 1], d = z[(j + 1) * nx + i];
          if (!(Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c) && Number.isFinite(d))) continue;
          const pts = [];
          const edge = (p, q, x0, y0, x1, y1) => {
            if ((p < lv) !== (q < lv)) { const u = (lv - p) / (q - p); pts.push([x0 + (x1 - x0) * u, y0 + (y1 - y0) * u]); }
          };
          edge(a, b, i, j, i + 1, j);
          edge(b, c, i + 1, j, i + 1, j + 1);
          edge(c, d, i + 1, j + 1, i, j + 1);
          edge(d, a, i, j + 1, i, j);
          if (pts.length >= 2) segs.push(pts[0], pts[1]);
          if (pts.length === 4) segs.push(pts[2], pts[3]);
        }
      }
      out.push(segs);
    }
    return out;
  }

  // ---- drawing --------------------------------------------------------------

  function setupCanvas(cv) {
    const r = cv.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width)), h = Math.max(1, Math.round(r.height));
    if (cv.width !== Math.round(w * dpr) || cv.height !== Math.round(h * dpr)) {
      cv.width = Math.round(w * dpr); cv.height = Math.round(h * dpr);
    }
    const ctx = cv.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx, w, h };
  }

  const toPx = (v, x, y) => [(x - v.x0) / (v.x1 - v.x0) * v.w, (v.y1 - y) / (v.y1 - v.y0) * v.h];
  const toData = (v, px, py) => [v.x0 + px / v.w * (v.x1 - v.x0), v.y1 - py / v.h * (v.y1 - v.y0)];

  function niceTicks(lo, hi, count) {
    const span = hi - lo, raw = span / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) || 10 * mag;
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return ticks;
  }

  function drawMap() {
    const cv = $("map");
    const { ctx, w, h } = setupCanvas(cv);
    if (!surface.view || surface.view.w !== w || surface.view.h !== h) {
      surface.view = fitView(w, h);
      computeHeat(surface.view);
    }
    const v = surface.view, heat = surface.heat;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    // the grid's cell centres sit on the window's edges: stretch half a cell past them
    const cw = w / (heat.nx - 1), ch = h / (heat.ny - 1);
    ctx.drawImage(heat.off, -cw / 2, -ch / 2, w + cw, h + ch);

    // contours
    ctx.lineWidth = 1;
    heat.contours.forEach((segs, li) => {
      ctx.strokeStyle = li % 3 === 2 ? "rgba(255,255,255,0.30)" : "rgba(255,255,255,0.13)";
      ctx.beginPath();
      for (let s = 0; s < segs.length; s += 2) {
        const [ax, ay] = segs[s], [bx, by] = segs[s + 1];
        ctx.moveTo(ax * cw, h - ay * ch);
        ctx.lineTo(bx * cw, h - by * ch);
      }
      ctx.stroke();
    });

    // axes through the origin and tick labels at the edges
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "rgba(230,237,243,0.75)";
    ctx.strokeStyle = "rgba(255,255,255,0.22)";
    ctx.setLineDash([3, 4]);
    ctx.beginPath();
    if (v.x0 < 0 && v.x1 > 0) { const [px] = toPx(v, 0, 0); ctx.moveTo(px, 0); ctx.lineTo(px, h); }
    if (v.y0 < 0 && v.y1 > 0) { const [, py] = toPx(v, 0, 0); ctx.moveTo(0, py); ctx.lineTo(w, py); }
    ctx.stroke();
    ctx.setLineDash([]);
    const tickCount = Math.max(4, Math.round(w / 70));
    ctx.textAlign = "center"; ctx.textBaseline = "bottom";
    for (const t of niceTicks(v.x0, v.x1, tickCount)) {
      const [px] = toPx(v, t, 0);
      if (px > 14 && px < w - 14) labelText(ctx, fmtNum(t, 3), px, h - 3);
    }
    ctx.textAlign = "left"; ctx.textBaseline = "middle";
    for (const t of niceTicks(v.y0, v.y1, Math.max(4, Math.round(h / 70)))) {
      const [, py] = toPx(v, 0, t);
      if (py > 12 && py < h - 22) labelText(ctx, fmtNum(t, 3), 5, py);
    }
    ctx.textAlign = "right"; ctx.textBaseline = "bottom";
    labelText(ctx, "x →", w - 6, h - 16);
    ctx.textAlign = "left"; ctx.textBaseline = "top";
    labelText(ctx, "↑ y", 5, 5);

    // known minimum
    if (surface.info.min) {
      const [mx, my] = toPx(v, surface.info.min.x, surface.info.min.y);
      star(ctx, mx, my, 7);
    }

    // trails up to step k, each with a dark halo so it reads on light and dark ground
    const pathTo = (rows) => {
      const pts = [];
      for (let i = 0; i <= state.k; i++) {
        const r = rows[i];
        if (!Number.isFinite(r[0]) || !Number.isFinite(r[1])) break;
        pts.push(toPx(v, r[0], r[1]));
      }
      return pts;
    };
    for (const o of OPTIMS) {
      const t = trails[o.id];
      if (!t || !t.rows) continue;
      const pts = pathTo(t.rows);
      if (!pts.length) continue;
      ctx.lineJoin = "round"; ctx.lineCap = "round";
      if (t.evalRows) drawEvalPath(ctx, pathTo(t.evalRows), o.color);
      for (const [width, color] of [[4.5, "rgba(5,8,15,0.75)"], [2, o.color]]) {
        ctx.strokeStyle = color; ctx.lineWidth = width;
        ctx.beginPath();
        pts.forEach(([px, py], i) => (i ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
        ctx.stroke();
      }
      ctx.fillStyle = o.color;
      for (let i = 1; i < pts.length - 1 && pts.length < 160; i++) {
        ctx.beginPath(); ctx.arc(pts[i][0], pts[i][1], 1.6, 0, 2 * Math.PI); ctx.fill();
      }
      const [hx, hy] = pts[pts.length - 1];
      ctx.beginPath(); ctx.arc(hx, hy, 5.5, 0, 2 * Math.PI);
      ctx.fillStyle = o.color; ctx.fill();
      ctx.lineWidth = 2; ctx.strokeStyle = "#05080f"; ctx.stroke();
    }

    // start point
    const [sx, sy] = toPx(v, state.start[0], state.start[1]);
    ctx.beginPath(); ctx.arc(sx, sy, 7, 0, 2 * Math.PI);
    ctx.lineWidth = 3; ctx.strokeStyle = "#05080f"; ctx.stroke();
    ctx.lineWidth = 1.6; ctx.strokeStyle = "#ffffff"; ctx.stroke();
    ctx.beginPath(); ctx.arc(sx, sy, 2, 0, 2 * Math.PI); ctx.fillStyle = "#ffffff"; ctx.fill();
  }

  // Schedule-Free's average x: dashed under its y trail, a hollow ring at its head.
  function drawEvalPath(ctx, pts, color) {
    if (!pts.length) return;
    ctx.setLineDash([6, 5]);
    for (const [width, c] of [[4, "rgba(5,8,15,0.7)"], [1.8, color]]) {
      ctx.strokeStyle = c; ctx.lineWidth = width;
      ctx.beginPath();
      pts.forEach(([px, py], i) => (i ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
      ctx.stroke();
    }
    ctx.setLineDash([]);
    const [hx, hy] = pts[pts.length - 1];
    ctx.beginPath(); ctx.arc(hx, hy, 5, 0, 2 * Math.PI);
    ctx.lineWidth = 4; ctx.strokeStyle = "#05080f"; ctx.stroke();
    ctx.lineWidth = 2; ctx.strokeStyle = color; ctx.stroke();
  }

  function labelText(ctx, text, x, y) {
    ctx.save();
    ctx.lineWidth = 3; ctx.strokeStyle = "rgba(5,8,15,0.55)";
    ctx.strokeText(text, x, y);
    ctx.fillText(text, x, y);
    ctx.restore();
  }

  function star(ctx, x, y, r) {
    ctx.beginPath();
    for (let i = 0; i < 10; i++) {
      const a = -Math.PI / 2 + i * Math.PI / 5, rr = i % 2 ? r * 0.45 : r;
      ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
    }
    ctx.closePath();
    ctx.fillStyle = "#ffffff"; ctx.fill();
    ctx.lineWidth = 1.5; ctx.strokeStyle = "#05080f"; ctx.stroke();
  }

  function drawRamp() {
    const cv = $("ramp"), ctx = cv.getContext("2d");
    for (let i = 0; i < cv.width; i++) {
      const c = rampColor(i / (cv.width - 1));
      ctx.fillStyle = `rgb(${c[0] | 0},${c[1] | 0},${c[2] | 0})`;
      ctx.fillRect(i, 0, 1, cv.height);
    }
    const h = surface.heat;
    $("rampCaption").textContent = surface.info.min ? "loss − f*" : "loss − min";
    $("rampLo").textContent = fmtNum(h.bottom + h.eps, 2);
    $("rampHi").textContent = fmtNum(h.top, 2);
  }

  // Loss against update, log scale (of loss - f* when the minimum is known).
  function drawLoss() {
    const { ctx, w, h } = setupCanvas($("loss"));
    ctx.clearRect(0, 0, w, h);
    const pad = { l: 60, r: 10, t: 8, b: 24 };
    const known = surface.info.min ? surface.info.min.f : null;
    let anyNonPos = false, lo = Infinity, hi = -Infinity;
    const series = [];
    for (const o of OPTIMS) {
      const t = trails[o.id];
      if (!t || !t.rows) continue;
      for (const [rows, dash] of [[t.rows, false], [t.evalRows, true]]) {
        if (!rows) continue;
        const ys = rows.map((r) => (known !== null ? r[2] - known : r[2]));
        ys.forEach((y) => { if (Number.isFinite(y)) { if (y <= 0) anyNonPos = true; } });
        series.push({ o, ys, dash });
      }
    }
    // log scale unless the loss itself goes negative (saddle); an exact
    // minimum (loss - f* = 0) sits on the bottom edge
    const logScale = !anyNonPos || known !== null;
    const tr = (y) => (logScale ? (y > 0 ? Math.log10(y) : -Infinity) : y);
    for (const s of series) for (const y of s.ys) {
      const v = tr(y);
      if (Number.isFinite(v) && Math.abs(y) < 1e12) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    }
    if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
    if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    if (logScale) { hi = Math.ceil(hi); lo = Math.max(Math.floor(lo), hi - 12); }   // 12 decades at most
    const X = (i) => pad.l + i / state.steps * (w - pad.l - pad.r);
    const Y = (v) => pad.t + (hi - v) / (hi - lo) * (h - pad.t - pad.b);
    // grid
    ctx.font = "10.5px system-ui, sans-serif";
    ctx.strokeStyle = "rgba(255,255,255,0.07)"; ctx.fillStyle = "#8b97a5"; ctx.lineWidth = 1;
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    const yt = logScale ? niceTicks(lo, hi, 5).filter((t) => Number.isInteger(Math.round(t * 1e9) / 1e9)) : niceTicks(lo, hi, 5);
    const yticks = yt.length >= 2 ? yt : niceTicks(lo, hi, 5);
    for (const t of yticks) {
      const y = Y(t);
      ctx.beginPath(); ctx.moveTo(pad.l, y); ctx.lineTo(w - pad.r, y); ctx.stroke();
      ctx.fillText(logScale ? (Number.isInteger(t) ? `1e${t}` : fmtNum(Math.pow(10, t), 2)) : fmtNum(t, 3), pad.l - 5, y);
    }
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of niceTicks(0, state.steps, 5)) ctx.fillText(String(t), X(t), h - pad.b + 5);
    ctx.save(); ctx.translate(11, pad.t + (h - pad.t - pad.b) / 2); ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(known !== null ? "loss − f*" : "loss", 0, 0); ctx.restore();
    // current step
    ctx.strokeStyle = "rgba(255,180,84,0.45)"; ctx.setLineDash([4, 4]);
    ctx.beginPath(); ctx.moveTo(X(state.k), pad.t); ctx.lineTo(X(state.k), h - pad.b); ctx.stroke();
    ctx.setLineDash([]);
    ctx.save();
    ctx.beginPath(); ctx.rect(pad.l, pad.t - 2, w - pad.l - pad.r, h - pad.t - pad.b + 4); ctx.clip();
    ctx.lineWidth = 1.8; ctx.lineJoin = "round";
    for (const { o, ys, dash } of series) {
      ctx.strokeStyle = o.color; ctx.setLineDash(dash ? [5, 4] : []); ctx.beginPath();
      let pen = false;
      for (let i = 0; i <= state.k; i++) {
        if (!Number.isFinite(ys[i])) break;
        const px = X(i), py = Y(Math.min(hi, Math.max(lo, tr(ys[i]))));
        pen ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
        pen = true;
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.restore();
  }

  function drawSchedule() {
    const { ctx, w, h } = setupCanvas($("sched"));
    ctx.clearRect(0, 0, w, h);
    const pad = { l: 30, r: 8, t: 8, b: 18 };
    const spec = scheduleSpec(1) || "constant(lr=1)";
    $("schedSpec").textContent = "lr(t) = η · " + spec.replace(/(lr|peak)=1\b/, "$1=1") + "  (η: each optimizer's lr)";
    let ys;
    try { ys = core.curve(spec, state.steps + 1); } catch (e) { $("schedSpec").textContent = e.message; return; }
    const X = (i) => pad.l + i / state.steps * (w - pad.l - pad.r);
    const Y = (v) => pad.t + (1.05 - v) / 1.1 * (h - pad.t - pad.b);
    ctx.font = "10.5px system-ui, sans-serif"; ctx.fillStyle = "#8b97a5";
    ctx.strokeStyle = "rgba(255,255,255,0.07)";
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const t of [0, 0.5, 1]) {
      ctx.beginPath(); ctx.moveTo(pad.l, Y(t)); ctx.lineTo(w - pad.r, Y(t)); ctx.stroke();
      ctx.fillText(t === 1 ? "η" : t === 0.5 ? "η/2" : "0", pad.l - 4, Y(t));
    }
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    ctx.fillText("0", X(0), h - pad.b + 4); ctx.fillText(String(state.steps), X(state.steps) - 8, h - pad.b + 4);
    ctx.beginPath();
    ys.forEach((y, i) => (i ? ctx.lineTo(X(i), Y(y)) : ctx.moveTo(X(i), Y(y))));
    ctx.lineTo(X(state.steps), Y(0)); ctx.lineTo(X(0), Y(0)); ctx.closePath();
    ctx.fillStyle = "rgba(255,180,84,0.08)"; ctx.fill();
    ctx.beginPath();
    ys.forEach((y, i) => (i ? ctx.lineTo(X(i), Y(y)) : ctx.moveTo(X(i), Y(y))));
    ctx.strokeStyle = "#ffb454"; ctx.lineWidth = 2; ctx.stroke();
    const kk = Math.min(state.k, state.steps);
    ctx.beginPath(); ctx.arc(X(kk), Y(ys[kk]), 4, 0, 2 * Math.PI); ctx.fillStyle = "#ffb454"; ctx.fill();
  }

  // ---- the equations panel -------------------------------------------------

  const pair = (a, b) => `(<b>${fmtNum(a, 5)}</b>, <b>${fmtNum(b, 5)}</b>)`;
  const one = (a) => `<b>${fmtNum(a, 5)}</b>`;

  // What each optimizer's update is for, under its equations.
  const NOTES = {
    nadam: "Adam with Nesterov momentum: the step mixes this gradient and the momentum, whose coefficient μ<sub><i>t</i></sub> warms up towards β₁.",
    radam: "Adam with the variance rectified: while the moving average of <i>g</i>² spans too few updates (ρ<sub><i>t</i></sub> ≤ 5) it takes momentum steps; then Adam's step scaled by <i>r<sub>t</sub></i> &lt; 1.",
    adamax: "Adam with the infinity norm: <i>u</i> remembers the largest recent |<i>g</i>|, decaying by β₂ per update.",
    lion: "Only the sign of <i>c</i> is used: every coordinate moves by exactly η, so near the minimum Lion hops on a lattice of step η.",
    sfadamw: "Schedule-Free keeps three sequences, each a point on the map: <b class=\"seq\">y</b>, where the gradient is taken " +
      "(the parameters while training: the solid trail); <b class=\"seq\">z</b>, plain normalised steps with no momentum; and " +
      "<b class=\"seq\">x</b>, the average of the <b class=\"seq\">z</b>'s weighted by <i>w<sub>t</sub></i>, what eval mode holds " +
      "(the dashed trail). <b class=\"seq\">y</b> = (1 − β₁) <b class=\"seq\">z</b> + β₁ <b class=\"seq\">x</b>: momentum by interpolation, no schedule needed.",
  };

  function equationLines(kind, e) {
    const X = e.x, Y = e.y;
    const g = ["<i>g</i> = ∇<i>f</i>(<i>θ</i>)", pair(X.grad, Y.grad)];
    const step = (math) => [math, pair(X.before, Y.before) + " → " + pair(X.after, Y.after)];
    switch (kind) {
      case "sgd": return [g, step("<i>θ</i> ← <i>θ</i> − <i>η</i> <i>g</i>")];
      case "momentum": return [g, ["<i>b</i> ← <i>μ b</i> + <i>g</i>", pair(X.buf, Y.buf)], step("<i>θ</i> ← <i>θ</i> − <i>η b</i>")];
      case "nesterov": return [g, ["<i>b</i> ← <i>μ b</i> + <i>g</i>", pair(X.buf, Y.buf)], step("<i>θ</i> ← <i>θ</i> − <i>η</i> (<i>g</i> + <i>μ b</i>)")];
      case "polyak": return [g, ["<i>v</i> ← <i>β v</i> + (1 − <i>β</i>) <i>g</i>", pair(X.buf, Y.buf)], step("<i>θ</i> ← <i>θ</i> − <i>η v</i>")];
      case "adam":
      case "adamw": {
        const lines = [g];
        if (kind === "adamw") lines.push(["<i>θ</i> ← <i>θ</i> (1 − <i>η λ</i>)", pair(X.decayed, Y.decayed)]);
        lines.push(["<i>m</i> ← <i>β</i>₁<i>m</i> + (1 − <i>β</i>₁) <i>g</i>", pair(X.m, Y.m)],
                   ["<i>v</i> ← <i>β</i>₂<i>v</i> + (1 − <i>β</i>₂) <i>g</i>²", pair(X.v, Y.v)],
                   ["<i>d</i> = √<i>v</i> / √(1 − <i>β</i>₂<sup><i>t</i></sup>) + <i>ε</i>", pair(X.denom, Y.denom)],
                   step("<i>θ</i> ← <i>θ</i> − <i>η</i> / (1 − <i>β</i>₁<sup><i>t</i></sup>) · <i>m</i> / <i>d</i>"));
        return lines;
      }
      case "rmsprop": return [g, ["<i>v</i> ← <i>α v</i> + (1 − <i>α</i>) <i>g</i>²", pair(X.v, Y.v)],
                              ["<i>d</i> = √<i>v</i> + <i>ε</i>", pair(X.denom, Y.denom)], step("<i>θ</i> ← <i>θ</i> − <i>η g</i> / <i>d</i>")];
      case "adagrad": return [g, ["<i>s</i> ← <i>s</i> + <i>g</i>²", pair(X.v, Y.v)],
                              ["<i>d</i> = √<i>s</i> + <i>ε</i>", pair(X.denom, Y.denom)], step("<i>θ</i> ← <i>θ</i> − <i>η g</i> / <i>d</i>")];
      case "nadam": return [g, ["<i>m</i> ← <i>β</i>₁<i>m</i> + (1 − <i>β</i>₁) <i>g</i>", pair(X.m, Y.m)],
                            ["<i>v</i> ← <i>β</i>₂<i>v</i> + (1 − <i>β</i>₂) <i>g</i>²", pair(X.v, Y.v)],
                            ["<i>μ<sub>t</sub></i> = <i>β</i>₁(1 − ½·0.96<sup><i>tψ</i></sup>), <i>Π</i> = <i>μ</i>₁⋯<i>μ<sub>t</sub></i>",
                             `<i>μ<sub>t</sub></i> = ${one(e.mu)}, <i>μ</i><sub><i>t</i>+1</sub> = ${one(e.muNext)}, <i>Π</i> = ${one(e.muProduct)}`],
                            ["<i>d</i> = √(<i>v</i> / (1 − <i>β</i>₂<sup><i>t</i></sup>)) + <i>ε</i>", pair(X.denom, Y.denom)],
                            step("<i>θ</i> ← <i>θ</i> − <i>η</i>(1 − <i>μ<sub>t</sub></i>)/(1 − <i>Π</i>) · <i>g</i>/<i>d</i> − <i>η μ</i><sub><i>t</i>+1</sub>/(1 − <i>Π μ</i><sub><i>t</i>+1</sub>) · <i>m</i>/<i>d</i>")];
      case "radam": {
        const lines = [g, ["<i>m</i> ← <i>β</i>₁<i>m</i> + (1 − <i>β</i>₁) <i>g</i>", pair(X.m, Y.m)],
                       ["<i>v</i> ← <i>β</i>₂<i>v</i> + (1 − <i>β</i>₂) <i>g</i>²", pair(X.v, Y.v)],
                       ["<i>ρ<sub>t</sub></i> = <i>ρ</i><sub>∞</sub> − 2<i>t β</i>₂<sup><i>t</i></sup> / (1 − <i>β</i>₂<sup><i>t</i></sup>)",
                        `${one(e.rho)}${e.rect > 0 ? " &gt; 5" : " ≤ 5: a momentum step, <i>v</i> not yet trusted"}`]];
        if (e.rect > 0) {
          lines.push(["<i>r<sub>t</sub></i> = √((<i>ρ<sub>t</sub></i> − 4)(<i>ρ<sub>t</sub></i> − 2)<i>ρ</i><sub>∞</sub> / ((<i>ρ</i><sub>∞</sub> − 4)(<i>ρ</i><sub>∞</sub> − 2)<i>ρ<sub>t</sub></i>))", one(e.rect)],
                     ["<i>d</i> = √<i>v</i> + <i>ε</i>", pair(X.denom, Y.denom)],
                     step("<i>θ</i> ← <i>θ</i> − <i>η r<sub>t</sub></i> · <i>m</i>/(1 − <i>β</i>₁<sup><i>t</i></sup>) · √(1 − <i>β</i>₂<sup><i>t</i></sup>) / <i>d</i>"));
        } else {
          lines.push(step("<i>θ</i> ← <i>θ</i> − <i>η m</i>/(1 − <i>β</i>₁<sup><i>t</i></sup>)"));
        }
        return lines;
      }
      case "adamax": return [g, ["<i>m</i> ← <i>β</i>₁<i>m</i> + (1 − <i>β</i>₁) <i>g</i>", pair(X.m, Y.m)],
                             ["<i>u</i> ← max(<i>β</i>₂<i>u</i>, |<i>g</i>| + <i>ε</i>)", pair(X.vmax, Y.vmax)],
                             ["<i>η</i> / (1 − <i>β</i>₁<sup><i>t</i></sup>)", one(e.stepSize)],
                             step("<i>θ</i> ← <i>θ</i> − <i>η</i>/(1 − <i>β</i>₁<sup><i>t</i></sup>) · <i>m</i>/<i>u</i>")];
      case "lion": return [g, ["<i>c</i> = <i>β</i>₁<i>m</i> + (1 − <i>β</i>₁) <i>g</i>", pair(X.buf, Y.buf)],
                           step("<i>θ</i> ← <i>θ</i> − <i>η</i> sign(<i>c</i>)"),
                           ["<i>m</i> ← <i>β</i>₂<i>m</i> + (1 − <i>β</i>₂) <i>g</i>", pair(X.m, Y.m)]];
      case "sfadamw": return [["<i>g</i> = ∇<i>f</i>(<b class=\"seq\">y</b>)", pair(X.grad, Y.grad)],
                              ["<i>v</i> ← <i>β</i>₂<i>v</i> + (1 − <i>β</i>₂) <i>g</i>²", pair(X.v, Y.v)],
                              ["<i>n</i> = <i>g</i> / (√(<i>v</i> / (1 − <i>β</i>₂<sup><i>t</i></sup>)) + <i>ε</i>)", pair(X.gradUsed, Y.gradUsed)],
                              ["<i>c</i> = <i>w<sub>t</sub></i> / Σ<i>w</i>, <i>w<sub>t</sub></i> = <i>η</i><sub>max</sub>²",
                               `${one(e.avgWeight)} (<i>η</i><sub>max</sub> = ${one(e.lrMax)}, Σ<i>w</i> = ${one(e.weightSum)})`],
                              ["<b class=\"seq\">y</b> ← (1 − <i>c</i>) <b class=\"seq\">y</b> + <i>c</i> <b class=\"seq\">z</b> + <i>η</i>(<i>β</i>₁(1 − <i>c</i>) − 1) <i>n</i>",
                               pair(X.before, Y.before) + " → " + pair(X.after, Y.after)],
                              ["<b class=\"seq\">z</b> ← <b class=\"seq\">z</b> − <i>η n</i>", pair(X.m, Y.m)],
                              ["<b class=\"seq\">x</b> = <b class=\"seq\">y</b> + (1 − 1/<i>β</i>₁)(<b class=\"seq\">z</b> − <b class=\"seq\">y</b>)",
                               pair(X.eval, Y.eval) + `, <i>f</i>(<b class="seq">x</b>) = <b>${fmtNum(e.lossEval, 6)}</b>`]];
      case "newton": return [g, ["<i>H</i> = ∇²<i>f</i>(<i>θ</i>)", `[[<b>${fmtNum(X.buf, 5)}</b>, <b>${fmtNum(X.m, 5)}</b>], [<b>${fmtNum(Y.buf, 5)}</b>, <b>${fmtNum(Y.m, 5)}</b>]]`],
                             step("<i>θ</i> ← <i>θ</i> − <i>η</i> (<i>H</i> + <i>δI</i>)⁻¹ <i>g</i>")];
      default: return [g];
    }
  }

  function explainKind(o) {
    if (o.id === "momentum") return state.mu > 0 ? "momentum" : "sgd";
    return o.id;
  }

  function drawEquations() {
    const o = OPTIMS.find((q) => q.id === state.explainId);
    const box = $("equations"), specEl = $("eqSpec");
    const t = trails[o.id];
    const spec = t ? t.spec : optimSpec(o);
    try { specEl.textContent = o.id === "newton" ? spec : core.canonical(spec); } catch (err) { specEl.textContent = err.message; }
    const q = (v) => `'${v}'`;
    $("eqCli").textContent = `ravine trace --surface ${q(surface.spec)} --optim ${q(spec)} ` +
      `--start ${state.start[0]},${state.start[1]} --steps ${state.steps}` +
      (t && t.schedule ? ` --schedule ${q(t.schedule)}` : "");
    if (!state.on[o.id]) { box.innerHTML = `<p class="eq-note">Switch ${o.label} on to follow its updates.</p>`; return; }
    if (!t || !t.rows) { box.innerHTML = `<p class="eq-note error">${t ? t.error : ""}</p>`; return; }
    if (state.k === 0) {
      const r = t.rows[0];
      box.innerHTML = `<div class="eq-line"><span class="math"><i>θ</i>₀, <i>f</i>(<i>θ</i>₀)</span><span class="vals">${pair(r[0], r[1])}, <b>${fmtNum(r[2], 6)}</b></span></div>` +
        `<p class="eq-note">Press Step to see update 1 with its numbers.</p>`;
      return;
    }
    let e;
    try { e = core.explain(surface.spec, spec, t.schedule, state.start, state.k); } catch (err) { box.innerHTML = `<p class="eq-note error">${err.message}</p>`; return; }
    const lines = equationLines(explainKind(o), e);
    const lrText = o.id === "newton" && !Number.isFinite(e.lr) ? "" : `, <i>η</i> = <b>${fmtNum(e.lr, 4)}</b>`;
    box.innerHTML = `<div class="eq-line"><span class="math">update <i>t</i> = ${state.k}${lrText}</span>` +
      `<span class="vals">loss <b>${fmtNum(e.lossBefore, 6)}</b> → <b>${fmtNum(e.lossAfter, 6)}</b></span></div>` +
      lines.map(([m, vals]) => `<div class="eq-line"><span class="math">${m}</span><span class="vals">${vals}</span></div>`).join("") +
      (NOTES[o.id] ? `<p class="eq-note">${NOTES[o.id]}</p>` : "");
  }

  // ---- gradient check --------------------------------------------------------

  function drawGradCheck() {
    const body = $("gradTable").querySelector("tbody");
    body.innerHTML = "";
    for (const [x, y] of GRAD_POINTS) {
      const tr = document.createElement("tr");
      try {
        const c = core.gradcheck(surface.spec, x, y, GRAD_H);
        let err = 0;
        // as `ravine gradcheck`: |analytic - difference| / max(1, |analytic|), so a zero gradient (a minimum) reads right
        for (let i = 0; i < 2; i++) err = Math.max(err, Math.abs(c.grad[i] - c.central[i]) / Math.max(1, Math.abs(c.grad[i])));
        const ok = err < 1e-6;
        tr.innerHTML = `<td>(${x}, ${y})</td><td>${pair(c.grad[0], c.grad[1]).replace(/<\/?b>/g, "")}</td>` +
          `<td>${pair(c.central[0], c.central[1]).replace(/<\/?b>/g, "")}</td>` +
          `<td class="${ok ? "pass" : "fail"}">${err.toExponential(1)} ${ok ? "✓" : "✗"}</td>`;
      } catch (e) {
        tr.innerHTML = `<td>(${x}, ${y})</td><td colspan="3" class="fail">${e.message}</td>`;
      }
      body.appendChild(tr);
    }
  }

  // ---- controls ------------------------------------------------------------

  function buildOptimRows() {
    const list = $("optimList"), legend = $("legend"), explain = $("explain");
    for (const o of OPTIMS) {
      const row = document.createElement("div");
      row.className = "optim-row"; row.id = "row-" + o.id;
      row.style.setProperty("--row-color", o.color);
      row.innerHTML =
        `<input type="checkbox" id="on-${o.id}" ${state.on[o.id] ? "checked" : ""}>` +
        `<label class="name" for="on-${o.id}"><span class="swatch"></span>${o.label}</label>` +
        `<input type="range" id="lr-${o.id}" min="-4" max="1" step="0.05" aria-label="${o.label} learning rate">` +
        `<output id="lrOut-${o.id}" for="lr-${o.id}"></output><span class="row-error" role="status"></span>`;
      list.appendChild(row);
      const li = document.createElement("li");
      li.id = "legend-" + o.id;
      li.innerHTML = `<span class="swatch" style="--row-color:${o.color}"></span>${o.label}` +
        (o.eval ? ` <span class="muted">y</span> <span class="swatch dashed" style="--row-color:${o.color}"></span><span class="muted">x</span>` : "") +
        ` <span class="final"></span>`;
      legend.appendChild(li);
      const opt = document.createElement("option");
      opt.value = o.id; opt.textContent = o.label;
      explain.appendChild(opt);
      $("on-" + o.id).addEventListener("change", (ev) => { state.on[o.id] = ev.target.checked; refresh(); });
      $("lr-" + o.id).addEventListener("input", (ev) => {
        state.lr[o.id] = lrFromSlider(Number(ev.target.value));
        $("lrOut-" + o.id).textContent = fmtNum(state.lr[o.id], 2);
        refresh();
      });
    }
    explain.value = state.explainId;
    explain.addEventListener("change", () => { state.explainId = explain.value; drawEquations(); });
  }

  function applyPresets() {
    const p = PRESETS[state.surfaceKey];
    for (const o of OPTIMS) {
      state.lr[o.id] = p[o.id];
      $("lr-" + o.id).value = Math.log10(p[o.id]).toFixed(2);
      $("lrOut-" + o.id).textContent = fmtNum(p[o.id], 2);
    }
  }

  function updateRowStates() {
    for (const o of OPTIMS) {
      $("row-" + o.id).classList.toggle("off", !state.on[o.id]);
      $("legend-" + o.id).hidden = !state.on[o.id];
      const t = trails[o.id], fin = $("legend-" + o.id).querySelector(".final");
      const r = t && t.rows ? t.rows[state.k] : null;
      fin.textContent = r ? (Number.isFinite(r[2]) ? fmtNum(r[2], 3) : "diverged") : "";
    }
  }

  function syncStartInputs() {
    $("startX").value = String(state.start[0]);
    $("startY").value = String(state.start[1]);
  }

  function render() {
    drawMap();
    drawLoss();
    drawSchedule();
    drawEquations();
    updateRowStates();
    $("stepOut").textContent = `step ${state.k} / ${state.steps}`;
    $("play").textContent = state.playing ? "Pause" : "Play";
  }

  function refresh() {
    computeTrails();
    render();
  }

  function changeSurface() {
    $("kappaField").hidden = state.surfaceKey !== "bowl";
    $("customField").hidden = state.surfaceKey !== "custom";
    const previous = surface;
    try {
      state.start = null;
      loadSurface();
      $("customError").textContent = "";
    } catch (e) {
      if (state.surfaceKey === "custom" && previous) {
        $("customError").textContent = e.message;
        surface = previous;
        state.start = previous.info.start.slice();
        return;
      }
      throw e;
    }
    applyPresets();
    syncStartInputs();
    state.k = 0;
    refresh();
    drawGradCheck();
  }

  // ---- playback ------------------------------------------------------------

  let lastTime = 0, carry = 0;
  function tick(now) {
    if (!state.playing) return;
    const dt = lastTime ? (now - lastTime) / 1000 : 0;
    lastTime = now;
    carry += dt * state.speed;
    const adv = Math.floor(carry);
    if (adv > 0) {
      carry -= adv;
      state.k = Math.min(state.steps, state.k + adv);
      render();
    }
    if (state.k >= state.steps) { pause(); return; }
    requestAnimationFrame(tick);
  }
  function play() {
    if (state.k >= state.steps) state.k = 0;
    state.playing = true; lastTime = 0; carry = 0;
    render();
    requestAnimationFrame(tick);
  }
  function pause() { state.playing = false; render(); }
  function seek(k) { state.k = Math.max(0, Math.min(state.steps, Math.round(k))); render(); }

  function wireControls() {
    $("play").addEventListener("click", () => (state.playing ? pause() : play()));
    $("step").addEventListener("click", () => { state.playing = false; seek(state.k + 1); });
    $("reset").addEventListener("click", () => { state.playing = false; seek(0); });
    $("surface").addEventListener("change", (ev) => { state.surfaceKey = ev.target.value; changeSurface(); });
    $("kappa").addEventListener("input", (ev) => {
      state.kappa = Number(ev.target.value);
      $("kappaOut").textContent = state.kappa;
      const start = state.start;
      loadSurface();
      state.start = start;
      refresh();
      drawGradCheck();
    });
    const applyCustom = () => { state.custom = $("custom").value; changeSurface(); };
    $("customApply").addEventListener("click", applyCustom);
    $("custom").addEventListener("keydown", (ev) => { if (ev.key === "Enter") applyCustom(); });
    $("mu").addEventListener("input", (ev) => {
      state.mu = Number(ev.target.value);
      $("muOut").textContent = state.mu.toFixed(2);
      refresh();
    });
    $("steps").addEventListener("change", (ev) => { state.steps = Number(ev.target.value); refresh(); });
    $("speed").addEventListener("change", (ev) => { state.speed = Number(ev.target.value); });
    $("schedule").addEventListener("change", (ev) => { state.schedule = ev.target.value; refresh(); });
    const startInput = () => {
      const x = Number($("startX").value), y = Number($("startY").value);
      if (Number.isFinite(x) && Number.isFinite(y)) { state.start = [x, y]; refresh(); }
    };
    $("startX").addEventListener("change", startInput);
    $("startY").addEventListener("change", startInput);

    const map = $("map");
    map.addEventListener("click", (ev) => {
      const r = map.getBoundingClientRect();
      // round to a tenth of a pixel's width, so the fields and the CLI line show the exact start
      const v = surface.view, d = Math.max(0, -Math.floor(Math.log10((v.x1 - v.x0) / v.w / 10)));
      state.start = toData(v, ev.clientX - r.left, ev.clientY - r.top).map((c) => Number(c.toFixed(d)));
      syncStartInputs();
      state.k = 0;
      refresh();
      play();
    });
    map.addEventListener("mousemove", (ev) => {
      const r = map.getBoundingClientRect(), px = ev.clientX - r.left, py = ev.clientY - r.top;
      const [x, y] = toData(surface.view, px, py), tip = $("mapTip");
      try {
        const c = core.gradcheck(surface.spec, x, y, GRAD_H);
        tip.textContent = `(${fmtNum(x, 3)}, ${fmtNum(y, 3)})  f = ${fmtNum(c.f, 4)}  ∇f = (${fmtNum(c.grad[0], 3)}, ${fmtNum(c.grad[1], 3)})`;
      } catch (e) {
        tip.textContent = `(${fmtNum(x, 3)}, ${fmtNum(y, 3)})  outside the domain`;
      }
      tip.hidden = false;
      tip.style.left = Math.min(px + 14, r.width - tip.offsetWidth - 6) + "px";
      tip.style.top = Math.max(py - 30, 4) + "px";
    });
    map.addEventListener("mouseleave", () => { $("mapTip").hidden = true; });

    document.addEventListener("keydown", (ev) => {
      const tag = (ev.target.tagName || "").toLowerCase();
      if (["input", "select", "textarea", "button"].includes(tag) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (ev.key === " ") { ev.preventDefault(); state.playing ? pause() : play(); }
      else if (ev.key === "ArrowRight") { state.playing = false; seek(state.k + 1); }
      else if (ev.key === "ArrowLeft") { state.playing = false; seek(state.k - 1); }
      else if (ev.key === "r" || ev.key === "R") { state.playing = false; seek(0); }
    });

    let pending = 0;
    const ro = new ResizeObserver(() => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => render());
    });
    ro.observe($("map")); ro.observe($("loss")); ro.observe($("sched"));
  }

  // ---- the test hook (CONTRACTS §4) ------------------------------------------

  function exposeHook() {
    window.ravineLive = {
      // Same rows as `ravine trace --surface S --optim O --start X,Y --steps N`
      // (with eval: true, as `ravine trace ... --eval`).
      trace(args) {
        const { surface: s, optim, start, steps, schedule } = args;
        return core.trace(s, optim, schedule || "", start, steps, !!args.eval);
      },
      state() {
        const out = {}, evals = {};
        for (const id of Object.keys(trails)) {
          if (trails[id].rows) out[id] = trails[id].rows.slice(0, state.k + 1);
          if (trails[id].evalRows) evals[id] = trails[id].evalRows.slice(0, state.k + 1);
        }
        return { surface: surface.spec, start: state.start.slice(), mu: state.mu, k: state.k, steps: state.steps,
                 view: Object.assign({}, surface.view), trails: out, evals,
                 specs: Object.fromEntries(Object.entries(trails).map(([id, t]) => [id, t.spec])) };
      },
      // What the equations panel shows for update k (1-based) of such a trace.
      explainAt: ({ surface: s, optim, start, schedule }, k) => core.explain(s, optim, schedule || "", start, k),
      gradcheck: (x, y) => core.gradcheck(surface.spec, x, y, GRAD_H),
      seek, play, pause,
    };
  }

  async function main() {
    const M = await RavineCore();
    core = bindCore(M);
    buildOptimRows();
    wireControls();
    changeSurface();
    exposeHook();
    const reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (reduce) seek(state.steps); else play();
    document.body.dataset.ready = "1";
  }

  main().catch((e) => {
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = "The ravine core failed to start: " + e.message;
    document.querySelector("main").prepend(p);
    throw e;
  });
})();
