// The run player (Streamlit components v2, no build step, no dependencies).
//
// A training run is computed once on the server, at full speed, by PyTorch (serve.runner); this
// element plays its record back: Play, Pause, Step, Reset and a scrub bar, all here in the browser,
// with no server rerun while it plays. While a run is still being computed, the page sends what is
// new at most once a second and the playhead never passes what has been computed.
//
// It computes nothing the engine computes: the steps, accuracies and percentiles arrive as the
// worker measured them (ui/player.py builds the data), and the steps to 90 % arrive marked. What
// it does is choose, for a playhead step, the last measure at or before it (lastAtOrBefore), and
// draw. The playhead of each record is kept per tab (sessionStorage), so a student who visits
// another lesson and comes back finds it where it was.

const STORE = (globalThis.__bnLabPlayer ??= {
  heads: new Map(), // record key -> {head, playing}
  frames: [], // performance.now() of each drawn frame while playing (read by the benchmark)
  stalled: 0, // ms spent playing but held back by a computation
  played: 0, // ms spent playing
  last: null, // what was drawn last: {head, shown: [measures shown per run]} (read by the tests)
});
const KEEP_FRAMES = 1200;
const STYLES = [
  { color: "#1f5fbf", dash: [], width: 2.5 }, // the normalized run: blue, solid
  { color: "#c2410c", dash: [7, 5], width: 2.5 }, // its twin without normalization: orange, dashed
];

// ---------------------------------------------------------------- what is shown at a step

// Index of the last measure at or before `head` in the sorted `steps` (-1: none yet).
export function lastAtOrBefore(steps, head) {
  let lo = 0, hi = steps.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] <= head) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

// How far the playhead may go: a computing run holds it at its last measure.
export function playable(runs, total) {
  let limit = total;
  for (const r of runs) {
    if (r.state !== "finished") limit = Math.min(limit, r.steps.length ? r.steps[r.steps.length - 1] : 0);
  }
  return limit;
}

// ---------------------------------------------------------------- drawing helpers

function el(tag, attrs, parent) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function niceTicks(lo, hi, count) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

class Chart {
  constructor(parent, title) {
    this.box = el("figure", { class: "bnp-chart" }, parent);
    this.title = el("figcaption", { class: "bnp-title" }, this.box);
    this.title.textContent = title;
    this.canvas = el("canvas", { role: "img" }, this.box);
    this.legend = el("div", { class: "bnp-legend" }, this.box);
  }

  frame(xRange, yRange) {
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth || 300, h = this.canvas.clientHeight || 240;
    if (this.canvas.width !== Math.round(w * dpr)) this.canvas.width = Math.round(w * dpr);
    if (this.canvas.height !== Math.round(h * dpr)) this.canvas.height = Math.round(h * dpr);
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const pad = { l: 52, r: 12, t: 10, b: 34 };
    const plot = { x: pad.l, y: pad.t, w: w - pad.l - pad.r, h: h - pad.t - pad.b };
    const sx = (v) => plot.x + ((v - xRange[0]) / (xRange[1] - xRange[0] || 1)) * plot.w;
    const sy = (v) => plot.y + plot.h - ((v - yRange[0]) / (yRange[1] - yRange[0] || 1)) * plot.h;
    return { ctx, plot, sx, sy, w, h };
  }

  axes(f, xRange, yRange, fmtY, fmtX, xTitle) {
    const { ctx, plot, sx, sy } = f;
    ctx.font = "13px sans-serif";
    ctx.fillStyle = "#3d3d3d";
    ctx.strokeStyle = "#e3e3e3";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const v of niceTicks(yRange[0], yRange[1], 5)) {
      ctx.beginPath(); ctx.moveTo(plot.x, sy(v)); ctx.lineTo(plot.x + plot.w, sy(v)); ctx.stroke();
      ctx.fillText(fmtY(v), plot.x - 6, sy(v));
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const v of niceTicks(xRange[0], xRange[1], 5)) ctx.fillText(fmtX(v), sx(v), plot.y + plot.h + 4);
    ctx.fillText(xTitle, plot.x + plot.w / 2, plot.y + plot.h + 18);
    ctx.strokeStyle = "#9a9a9a";
    ctx.strokeRect(plot.x, plot.y, plot.w, plot.h);
  }

  line(f, xs, ys, n, style) {
    const { ctx, sx, sy } = f;
    if (n < 1) return;
    ctx.save();
    ctx.strokeStyle = style.color; ctx.lineWidth = style.width; ctx.setLineDash(style.dash);
    ctx.beginPath();
    let pen = false; // a missing value (null: not finite) lifts the pen
    for (let i = 0; i < n; i++) {
      if (ys[i] === null) { pen = false; continue; }
      (pen ? ctx.lineTo : ctx.moveTo).call(ctx, sx(xs[i]), sy(ys[i]));
      pen = true;
    }
    if (n === 1 && ys[0] !== null) ctx.arc(sx(xs[0]), sy(ys[0]), 2, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.restore();
  }

  band(f, xs, band, n, style) {
    const { ctx, sx, sy } = f;
    if (n < 1) return;
    ctx.save();
    ctx.fillStyle = style.color; ctx.globalAlpha = 0.2;
    ctx.beginPath();
    const ok = [];
    for (let i = 0; i < n; i++) if (band[i].every((v) => v !== null)) ok.push(i);
    ok.forEach((i, k) => (k ? ctx.lineTo : ctx.moveTo).call(ctx, sx(xs[i]), sy(band[i][2])));
    for (const i of ok.reverse()) ctx.lineTo(sx(xs[i]), sy(band[i][0]));
    ctx.closePath(); ctx.fill();
    ctx.restore();
    this.line(f, xs, band.map((q) => q[1]), n, style);
  }

  playhead(f, head) {
    const { ctx, plot, sx } = f;
    ctx.save();
    ctx.strokeStyle = "#555"; ctx.setLineDash([2, 3]); ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(sx(head), plot.y); ctx.lineTo(sx(head), plot.y + plot.h); ctx.stroke();
    ctx.restore();
  }
}

// ---------------------------------------------------------------- the element

class Player {
  constructor(root) {
    this.root = el("div", { class: "bnp" }, root);
    this.data = null;
    this.head = 0;
    this.playing = false;
    this.raf = null;
    this.lastTick = null;
    this.restartSeen = null;
    const bar = el("div", { class: "bnp-bar" }, this.root);
    this.play = el("button", { type: "button", class: "bnp-play" }, bar);
    this.step = el("button", { type: "button" }, bar);
    this.reset = el("button", { type: "button" }, bar);
    this.scrub = el("input", { type: "range", min: "0", max: "1", step: "1", value: "0", class: "bnp-scrub" }, bar);
    this.marks = el("div", { class: "bnp-marks" }, this.root);
    this.status = el("p", { class: "bnp-status", "aria-live": "polite" }, this.root);
    const charts = el("div", { class: "bnp-charts" }, this.root);
    this.acc = new Chart(charts, "");
    this.probe = new Chart(charts, "");
    this.net = el("div", { class: "bnp-net" }, this.root);
    this.play.addEventListener("click", () => (this.playing ? this.pause() : this.start()));
    this.step.addEventListener("click", () => this.stepOnce());
    this.reset.addEventListener("click", () => { this.pause(); this.seek(0); });
    this.scrub.addEventListener("input", () => { this.pause(); this.seek(Number(this.scrub.value)); });
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.root);
  }

  update(data) {
    const first = this.data === null || this.data.key !== data.key;
    this.data = data;
    const t = data.text;
    this.step.textContent = t.step;
    this.reset.textContent = t.reset;
    this.scrub.setAttribute("aria-label", t.scrub);
    this.acc.title.textContent = t.acc_title;
    this.probe.title.textContent = t.probe_title;
    this.acc.canvas.setAttribute("aria-label", t.acc_title);
    this.probe.canvas.setAttribute("aria-label", t.probe_title);
    this.scrub.max = String(data.total);
    this.fmt = new Intl.NumberFormat(data.locale, { maximumFractionDigits: 0 });
    this.fmt1 = new Intl.NumberFormat(data.locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    this.fmt2 = new Intl.NumberFormat(data.locale, { maximumFractionDigits: 2 });
    this.legends();
    this.markButtons();
    if (first) {
      const kept = STORE.heads.get(data.key) ?? this.stored(data.key);
      this.playing = false; // another record: its own playhead
      this.head = kept ? Math.min(kept.head, data.total) : 0;
      this.restartSeen = kept ? kept.restart : null;
      if (kept?.playing) this.start();
    }
    if (data.restart !== null && data.restart !== this.restartSeen) {
      this.restartSeen = data.restart; // a new press of Play on the page: from step 0
      this.head = 0;
      this.start();
    }
    this.draw();
  }

  stored(key) {
    try {
      const kept = JSON.parse(sessionStorage.getItem(`bnlab.player.${key}`) ?? "null");
      return kept && Number.isFinite(kept.head) ? { head: kept.head, playing: false, restart: kept.restart } : null;
    } catch {
      return null;
    }
  }

  remember() {
    const kept = { head: this.head, playing: this.playing, restart: this.restartSeen };
    STORE.heads.set(this.data.key, kept);
    try { sessionStorage.setItem(`bnlab.player.${this.data.key}`, JSON.stringify(kept)); } catch { /* private mode */ }
  }

  pct(v) { return this.data.text.pct.replace("{v}", this.fmt1.format(v * 100)); }

  signed(v) { return this.fmt2.format(v).replace("-", "\u2212"); } // a minus sign, not a hyphen

  legends() {
    for (const chart of [this.acc, this.probe]) {
      chart.legend.replaceChildren();
      this.data.runs.forEach((r, i) => {
        const item = el("span", { class: "bnp-key" }, chart.legend);
        const swatch = el("span", { class: `bnp-swatch bnp-style${i}` }, item);
        swatch.setAttribute("aria-hidden", "true");
        item.append(r.name);
      });
    }
    el("span", { class: "bnp-key bnp-note" }, this.probe.legend).textContent = this.data.text.band_note;
  }

  markButtons() {
    this.marks.replaceChildren();
    this.data.runs.forEach((r, i) => {
      if (r.reached === null) return;
      const b = el("button", { type: "button", class: `bnp-mark bnp-style${i}` }, this.marks);
      b.textContent = this.data.text.jump.replace("{name}", r.name).replace("{step}", this.fmt.format(r.reached));
      b.addEventListener("click", () => { this.pause(); this.seek(r.reached); });
    });
  }

  limit() { return playable(this.data.runs, this.data.total); }

  start() {
    if (this.head >= this.data.total) this.head = 0;
    this.playing = true;
    this.lastTick = null;
    this.remember();
    this.raf ??= requestAnimationFrame((now) => this.tick(now));
    this.draw();
  }

  pause() {
    this.playing = false;
    if (this.raf !== null) cancelAnimationFrame(this.raf);
    this.raf = null;
    this.remember();
    this.draw();
  }

  seek(step) {
    this.head = Math.max(0, Math.min(step, this.limit()));
    this.remember();
    this.draw();
  }

  stepOnce() {
    this.pause();
    const next = Math.min(...this.data.runs.map((r) => r.steps.find((s) => s > this.head) ?? Infinity));
    if (Number.isFinite(next)) this.seek(next);
  }

  tick(now) {
    this.raf = null;
    if (!this.playing) return;
    if (this.lastTick !== null) {
      const dt = Math.min(now - this.lastTick, 250); // a hidden tab's pause is no jump
      STORE.played += dt;
      const limit = this.limit();
      const want = this.head + (dt * this.data.speed) / 1000;
      if (want > limit && limit < this.data.total) STORE.stalled += dt;
      this.head = Math.min(want, limit);
      if (this.head >= this.data.total) this.playing = false;
    }
    this.lastTick = now;
    STORE.frames.push(now);
    if (STORE.frames.length > KEEP_FRAMES) STORE.frames.splice(0, STORE.frames.length - KEEP_FRAMES);
    this.draw();
    if (this.playing) this.raf = requestAnimationFrame((t) => this.tick(t));
    else this.remember();
  }

  draw() {
    const d = this.data;
    if (!d) return;
    const t = d.text;
    const head = Math.floor(this.head);
    const shown = d.runs.map((r) => lastAtOrBefore(r.steps, head) + 1);
    STORE.last = { key: d.key, head, shown };
    this.play.textContent = this.playing ? t.pause : t.play;
    this.play.setAttribute("aria-pressed", String(this.playing));
    this.scrub.value = String(head);
    this.scrub.setAttribute("aria-valuetext", t.step_of.replace("{step}", this.fmt.format(head)).replace("{total}", this.fmt.format(d.total)));
    const computed = Math.min(...d.runs.map((r) => (r.state === "finished" ? d.total : r.done)));
    const numbers = d.runs
      .map((r, i) => (shown[i] ? t.run_value.replace("{name}", r.name).replace("{value}", this.pct(r.acc[shown[i] - 1])) : ""))
      .filter(Boolean);
    this.status.textContent = [
      t.shown.replace("{step}", this.fmt.format(head)).replace("{total}", this.fmt.format(d.total)),
      computed >= d.total ? t.computed_all : t.computed.replace("{step}", this.fmt.format(computed)),
      numbers.join(" · "),
    ].join(" — ");
    const xRange = [0, Math.max(d.total, 1)];
    const fa = this.acc.frame(xRange, [0, 1]);
    this.acc.axes(fa, xRange, [0, 1], (v) => t.pct.replace("{v}", this.fmt.format(v * 100)), (v) => this.fmt.format(v), t.step_axis);
    d.runs.forEach((r, i) => {
      if (r.reached !== null && r.reached <= head) {
        fa.ctx.save(); fa.ctx.strokeStyle = STYLES[i].color; fa.ctx.setLineDash([1, 3]);
        fa.ctx.beginPath(); fa.ctx.moveTo(fa.sx(r.reached), fa.sy(0)); fa.ctx.lineTo(fa.sx(r.reached), fa.sy(0.9)); fa.ctx.stroke();
        fa.ctx.restore();
      }
      this.acc.line(fa, r.steps, r.acc, shown[i], STYLES[i]);
    });
    this.acc.playhead(fa, head);
    this.acc.canvas.setAttribute("aria-label", `${t.acc_title}. ${numbers.join("; ")}`);
    const fp = this.probe.frame(xRange, d.band_range);
    this.probe.axes(fp, xRange, d.band_range, (v) => this.signed(v), (v) => this.fmt.format(v), t.step_axis);
    d.runs.forEach((r, i) => this.probe.band(fp, r.steps, r.band, shown[i], STYLES[i]));
    this.probe.playhead(fp, head);
    this.network(shown);
  }

  // Each hidden layer as a box: where the probed unit's values lie (15th to 85th percentile, and
  // the median) entering and leaving the normalization, at the playhead, one row per run.
  network(shown) {
    const d = this.data;
    const t = d.text;
    this.net.replaceChildren();
    el("p", { class: "bnp-net-title" }, this.net).textContent = t.net_title.replace("{step}", this.fmt.format(Math.floor(this.head)));
    const grid = el("div", { class: "bnp-layers" }, this.net);
    const [lo, hi] = d.layer_range;
    const at = (v) => `${(100 * (Math.min(Math.max(v, lo), hi) - lo)) / (hi - lo || 1)}%`;
    for (let layer = 0; layer < d.layers; layer++) {
      const box = el("div", { class: "bnp-layer" }, grid);
      el("p", { class: "bnp-layer-name" }, box).textContent = t.layer.replace("{n}", String(layer + 1));
      d.runs.forEach((r, i) => {
        const idx = shown[i] - 1;
        for (const stage of r.has_norm ? [0, 1] : [0]) { // without normalization: one row, the same values
          const row = el("div", { class: "bnp-row" }, box);
          const where = r.has_norm ? (stage ? t.after : t.before) : t.no_norm;
          el("span", { class: "bnp-row-name" }, row).textContent = r.has_norm ? `${where} · ${r.short}` : where;
          const track = el("span", { class: "bnp-track" }, row);
          const zero = el("span", { class: "bnp-zero" }, track);
          zero.style.left = at(0);
          if (idx < 0) continue;
          const q = r.layers[idx][layer][stage];
          if (q.some((v) => v === null)) continue;
          const clipped = (q[0] < lo ? " bnp-clip-lo" : "") + (q[2] > hi ? " bnp-clip-hi" : "");
          const range = el("span", { class: `bnp-range bnp-style${i}${clipped}` }, track);
          range.style.left = at(q[0]);
          range.style.width = `calc(${at(q[2])} - ${at(q[0])})`;
          const median = el("span", { class: `bnp-median bnp-style${i}` }, track);
          median.style.left = at(q[1]);
          row.setAttribute("title", `${this.signed(q[0])} … ${this.signed(q[1])} … ${this.signed(q[2])}`);
        }
      });
    }
    el("p", { class: "bnp-net-note" }, this.net).textContent = t.net_note
      .replace("{lo}", this.signed(lo)).replace("{hi}", this.signed(hi));
  }

  destroy() {
    this.pause();
    this.resize.disconnect();
  }
}

const mounted = new WeakMap(); // parentElement -> Player

export default function (component) {
  const { data, parentElement } = component;
  if (!data) return;
  let player = mounted.get(parentElement);
  if (!player) {
    player = new Player(parentElement);
    mounted.set(parentElement, player);
  }
  player.update(data);
  return () => {
    player.destroy();
    mounted.delete(parentElement);
  };
}
