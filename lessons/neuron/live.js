// The `neuron` lesson's live element (Streamlit components v2, no build step, no dependencies).
//
// Two components share this module:
//   bn_lab.neuron_sample  carries the input sample as bytes. Its element does not change when a
//                         weight moves, so Streamlit sends the sample once per sample setting.
//   bn_lab.neuron_live    the weight sliders and the histograms. Every pointer move recomputes
//                         the neuron over the whole sample here, in the browser, and redraws;
//                         nothing goes to the server until the pointer is released (or a key
//                         moves a slider), when the weights are sent and the server recomputes
//                         the official numbers with bn_core.
//
// The arithmetic repeats bn_core.neuron.forward and bn_core.histogram operation for operation,
// in float64, so that the counts drawn here equal the server's bin for bin (a browser test
// checks it): z = x1*w1 + x2*w2 + w0; NumPy's pairwise summation for the batch mean and
// variance; BatchNorm's fold v*scale + shift; np.linspace edges and np.histogram's binning.

const STORE = (globalThis.__bnLabNeuron ??= {
  samples: new Map(), // sample id -> {x1, x2: Float32Array}
  views: new Set(), // mounted live elements, told when a sample arrives
  frames: [], // performance.now() of each redraw (read by the benchmark)
  last: null, // what was drawn last: weights and each chart's counts (read by the tests)
});
const KEEP_SAMPLES = 2;

// ---------------------------------------------------------------- arithmetic (mirrors bn_core)

// NumPy's pairwise sum of a float64 array (numpy/_core/src/umath/loops_utils.h.src): blocks of
// up to 128 values summed with eight accumulators, longer runs split in halves.
function pairwiseSum(a, lo, n) {
  if (n < 8) {
    let s = -0.0;
    for (let i = 0; i < n; i++) s += a[lo + i];
    return s;
  }
  if (n <= 128) {
    const r = [a[lo], a[lo + 1], a[lo + 2], a[lo + 3], a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[lo + i + j];
    let s = (r[0] + r[1] + (r[2] + r[3])) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) s += a[lo + i];
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(a, lo, half) + pairwiseSum(a, lo + half, n - half);
}

function activate(v, kind, leak) {
  if (kind === "relu") return v > 0 ? v : 0; // np.maximum(z, 0.0)
  if (kind === "leaky_relu") return v >= 0 ? v : leak * v;
  if (kind === "sigmoid") return 0.5 * (1 + Math.tanh(0.5 * v));
  return Math.tanh(v);
}

// bn_core.neuron.forward. Arrays are reused between frames (buf) to spare the garbage collector.
function forward(x1, x2, w, cfg, buf) {
  const n = x1.length;
  const z = buf.z, mid = buf.mid, out = buf.out;
  for (let i = 0; i < n; i++) z[i] = x1[i] * w[0] + x2[i] * w[1] + w[2];
  if (cfg.bn === "off") {
    for (let i = 0; i < n; i++) out[i] = activate(z[i], cfg.act, cfg.leak);
    return { z, mid: null, out, mean: null, variance: null, shift: null, scale: null };
  }
  const v = cfg.bn === "before" ? z : mid;
  if (cfg.bn === "after") for (let i = 0; i < n; i++) mid[i] = activate(z[i], cfg.act, cfg.leak);
  const mean = pairwiseSum(v, 0, n) / n;
  const sq = buf.sq;
  for (let i = 0; i < n; i++) {
    const d = v[i] - mean;
    sq[i] = d * d;
  }
  const variance = pairwiseSum(sq, 0, n) / n;
  const scale = 1 / Math.sqrt(variance + cfg.eps);
  const shift = 0 - mean * scale;
  if (cfg.bn === "before") {
    for (let i = 0; i < n; i++) mid[i] = z[i] * scale + shift;
    for (let i = 0; i < n; i++) out[i] = activate(mid[i], cfg.act, cfg.leak);
  } else {
    for (let i = 0; i < n; i++) out[i] = mid[i] * scale + shift;
  }
  return { z, mid, out, mean, variance, shift, scale };
}

// bn_core.histogram.axis_range with a step.
function axisRange(v, base, step) {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x < lo) lo = x;
    if (x > hi) hi = x; // NaN compares false both ways and is skipped, as np.isfinite drops it
  }
  if (lo === Infinity) return [base[0], base[1]]; // no finite value
  if (hi === Infinity || lo === -Infinity) return [base[0], base[1]];
  return [Math.min(base[0], Math.floor(lo / step) * step), Math.max(base[1], Math.ceil(hi / step) * step)];
}

// np.linspace(lo, hi, bins + 1): i * step + lo, the last edge exactly hi.
function linspace(lo, hi, bins) {
  const edges = new Float64Array(bins + 1);
  const step = (hi - lo) / bins;
  for (let i = 0; i < bins; i++) edges[i] = i * step + lo;
  edges[bins] = hi;
  return edges;
}

// np.histogram(v, bins, range=(lo, hi)): a first guess from the bin width, corrected against
// the edges exactly as NumPy does; values outside [lo, hi] and non-finite ones are dropped.
function binCounts(v, lo, hi, bins) {
  const edges = linspace(lo, hi, bins);
  const counts = new Float64Array(bins);
  const norm = hi - lo;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!(x >= lo && x <= hi)) continue;
    let k = Math.trunc(((x - lo) / norm) * bins);
    if (k === bins) k -= 1;
    if (x < edges[k]) k -= 1;
    else if (k !== bins - 1 && x >= edges[k + 1]) k += 1;
    counts[k] += 1;
  }
  return { counts, edges, lo, hi };
}

// Every chart of one frame, as counts over its axis. ``hold`` (chart id -> [lo, hi]) widens an axis
// to keep a range on screen: the pinned histogram's, and during a drag the axis drawn so far, so that
// the axis does not rescale under the shift the student is watching.
function computeFrame(x1, x2, w, cfg, buf, hold = {}) {
  const pass = forward(x1, x2, w, cfg, buf);
  const charts = {};
  for (const chart of cfg.charts) {
    const values = pass[chart.source];
    let [lo, hi] = axisRange(values, chart.base, cfg.axis_step);
    const keep = hold[chart.id];
    if (keep) [lo, hi] = [Math.min(lo, keep[0]), Math.max(hi, keep[1])];
    charts[chart.id] = binCounts(values, lo, hi, cfg.bins);
  }
  return { pass, charts };
}

function buffers(n) {
  return { z: new Float64Array(n), mid: new Float64Array(n), out: new Float64Array(n), sq: new Float64Array(n) };
}

// For the tests: the same computation on a sample given as plain arrays.
STORE.compute = (x1, x2, w, cfg) => {
  const a = Float32Array.from(x1), b = Float32Array.from(x2);
  const { pass, charts } = computeFrame(a, b, w, cfg, buffers(a.length));
  const result = { mean: pass.mean, variance: pass.variance, charts: {} };
  for (const [id, c] of Object.entries(charts)) result.charts[id] = { counts: Array.from(c.counts), lo: c.lo, hi: c.hi };
  return result;
};

// ---------------------------------------------------------------- drawing

const SVG = "http://www.w3.org/2000/svg";
const PAD = { left: 46, right: 10, top: 26, bottom: 30 };

function el(tag, attrs = {}, parent = null, ns = null) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

// Round tick values: 1, 2 or 5 times a power of ten, about `target` of them.
function ticks(lo, hi, target) {
  const raw = (hi - lo) / Math.max(target, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

function formatNumber(value, digits, decimal) {
  let text = value.toFixed(digits);
  if (/^-0(\.0*)?$/.test(text)) text = text.slice(1); // no "-0.00"
  return decimal === "," ? text.replace(".", ",") : text;
}

function percent(share, digits, cfg) {
  const text = formatNumber(share * 100, digits, cfg.text.decimal);
  return cfg.text.decimal === "," ? `${text}\u00a0%` : `${text}%`;
}

// One histogram chart: an SVG drawn in pixels of its box, updated in place every frame.
class Chart {
  constructor(parent, spec) {
    this.spec = spec;
    this.box = el("figure", { class: "bnl-chart", "data-chart": spec.id }, parent);
    this.title = el("figcaption", {}, this.box);
    this.svg = el("svg", { role: "img" }, this.box, SVG);
    this.grid = el("g", { class: "bnl-grid" }, this.svg, SVG);
    this.ghost = el("path", { class: "bnl-ghost" }, this.svg, SVG);
    this.area = el("path", { class: `bnl-area bnl-${spec.color || "main"}` }, this.svg, SVG);
    this.mark = el("g", { class: "bnl-mark" }, this.svg, SVG);
    this.spike = el("g", { class: "bnl-spike" }, this.svg, SVG);
    this.pad = { ...PAD };
    this.width = 320;
    this.height = 220;
    this.axisKey = "";
  }

  resize(width, height) {
    // the margins hold tick labels drawn in rem: they grow with the root font (presenter mode)
    const scale = parseFloat(getComputedStyle(document.documentElement).fontSize) / 16 || 1;
    this.pad = Object.fromEntries(Object.entries(PAD).map(([side, px]) => [side, px * scale]));
    this.width = Math.max(width, 160);
    this.height = height;
    this.svg.setAttribute("width", this.width);
    this.svg.setAttribute("height", this.height);
    this.axisKey = "";
  }

  draw(h, ghost, mark, spike, cfg) {
    const { counts, edges, lo, hi } = h;
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    const shares = Array.from(counts, (c) => c / total);
    // A single bin far taller than the rest (ReLU's exact zeros, or where BN moved them) would
    // squash everything else: the axis follows the rest, and that bin is drawn cut, with its share.
    let top = 0, second = 0, topIndex = -1;
    shares.forEach((s, i) => {
      if (s > top) [second, top, topIndex] = [top, s, i];
      else if (s > second) second = s;
    });
    if (ghost) second = Math.max(second, secondLargest(ghost.counts)); // a pinned spike is cut too
    // (only while the rest is at least 2 % of the sample: a lone bin over almost nothing stays whole)
    const clipped = spike !== null && top > 3 * second && second > 0 && 1 - top >= 0.02;
    const yMax = (clipped ? second : Math.max(top, second)) * 1.15 || 1;
    const X = (v) => this.pad.left + ((v - lo) / (hi - lo)) * (this.width - this.pad.left - this.pad.right);
    const Y = (s) => this.height - this.pad.bottom - (Math.min(s, yMax) / yMax) * (this.height - this.pad.top - this.pad.bottom);

    const key = `${lo}|${hi}|${yMax.toPrecision(2)}|${this.width}|${this.height}`;
    if (key !== this.axisKey) this.drawAxes(lo, hi, yMax, X, Y, cfg);
    this.axisKey = key;

    this.area.setAttribute("d", stepPath(shares, edges, X, Y));
    this.ghost.setAttribute("d", ghost ? stepPath(ghost.counts, ghost.edges, X, Y) : "");
    this.mark.replaceChildren();
    if (mark && mark.x >= lo && mark.x <= hi) {
      const x = X(mark.x);
      el("line", { x1: x, x2: x, y1: this.pad.top, y2: this.height - this.pad.bottom }, this.mark, SVG);
      label(this.mark, x, this.pad.top - 6, [mark.label], this.width); // above the plot: no tick label there
    }
    this.spike.replaceChildren();
    if (clipped) {
      // the bar is cut at the top of the axis: a break mark, and the share of the one value it holds
      const x0 = X(edges[topIndex]), x1 = X(edges[topIndex + 1]);
      const y = Y(yMax);
      el("path", { d: `M${x0 - 2},${y + 6} l${(x1 - x0) / 2 + 2},-5 l${(x1 - x0) / 2 + 2},5` }, this.spike, SVG);
      const said = `↑ ${percent(spike.share, 1, cfg)} ${spike.name}`;
      label(this.spike, (x0 + x1) / 2, y - 14, [said, spike.at], this.width);
      // and its size at a glance: under the label, a bar of the whole sample filled to the bin's share
      const middle = (x0 + x1) / 2, w = Math.max(48, (this.width - this.pad.left - this.pad.right) * 0.3);
      const left = middle < this.width / 2 ? middle + 4 : middle - 4 - w; // on the label's side
      const bar = el("g", { class: "bnl-share", role: "img", "aria-label": said }, this.spike, SVG);
      el("rect", { x: left, y: y + 3, width: w, height: 8, class: "bnl-share-all" }, bar, SVG);
      el("rect", { x: left, y: y + 3, width: w * spike.share, height: 8, class: "bnl-share-part" }, bar, SVG);
    }
    this.svg.setAttribute("aria-label", `${this.spec.title}: ${percent(top, 1, cfg)} max`);
  }

  drawAxes(lo, hi, yMax, X, Y, cfg) {
    this.grid.replaceChildren();
    const bottom = this.height - this.pad.bottom;
    const digits = hi - lo < 3 ? 1 : 0;
    for (const t of ticks(lo, hi, Math.max(4, Math.floor(this.width / 55)))) {
      el("line", { x1: X(t), x2: X(t), y1: bottom, y2: bottom + 4, class: "bnl-tick" }, this.grid, SVG);
      const label = el("text", { x: X(t), y: bottom + 4, dy: "1em", "text-anchor": "middle" }, this.grid, SVG);
      label.textContent = formatNumber(t, digits, cfg.text.decimal);
    }
    const yTicks = ticks(0, yMax, 4).filter((t) => t <= yMax);
    const step = yTicks.length > 1 ? yTicks[1] - yTicks[0] : yMax;
    const yDigits = Math.max(0, -Math.floor(Math.log10(step * 100) + 1e-9)); // 0.05 -> "5%", 0.005 -> "0.5%"
    for (const t of yTicks) {
      el("line", { x1: this.pad.left, x2: this.width - this.pad.right, y1: Y(t), y2: Y(t), class: "bnl-gridline" }, this.grid, SVG);
      const label = el("text", { x: this.pad.left - 4, y: Y(t), dy: "0.35em", "text-anchor": "end" }, this.grid, SVG);
      label.textContent = percent(t, yDigits, cfg);
    }
    el("line", { x1: this.pad.left, x2: this.width - this.pad.right, y1: bottom, y2: bottom, class: "bnl-axis" }, this.grid, SVG);
  }
}

// Notation: the catalogs write a subscript as "μ_B"; it is drawn as μ with a small lowered B.
// (The same rule as ui.charts.notation for Plotly's titles.)
export function notationParts(text) {
  return String(text).split(/_([A-Za-z0-9])(?![A-Za-z0-9])/); // odd indices are subscripts
}

function writeNotation(node, text, svg) {
  node.replaceChildren();
  notationParts(text).forEach((part, i) => {
    if (!part) return;
    if (i % 2 === 0) node.append(part);
    else if (svg) el("tspan", { "baseline-shift": "sub", "font-size": "75%" }, node, SVG).textContent = part;
    else el("sub", {}, node).textContent = part;
  });
}

// A label of one or more lines at (x, y), on the side of x with more room, kept inside the chart.
function label(parent, x, y, lines, width) {
  const right = x < width / 2;
  const text = el("text", { x, y, "text-anchor": right ? "start" : "end" }, parent, SVG);
  lines.filter(Boolean).forEach((line, i) => {
    const span = el("tspan", { x: right ? x + 4 : x - 4, dy: i ? "1.2em" : "0" }, text, SVG);
    writeNotation(span, line, true);
  });
  return text;
}

function secondLargest(values) {
  let top = 0, second = 0;
  for (const v of values) {
    if (v > top) [second, top] = [top, v];
    else if (v > second) second = v;
  }
  return second;
}

// A histogram as one step outline closed along the axis: the look of bars without gaps.
function stepPath(shares, edges, X, Y) {
  const base = Y(0);
  let d = `M${X(edges[0]).toFixed(1)},${base.toFixed(1)}`;
  for (let i = 0; i < shares.length; i++) {
    const y = Y(shares[i]).toFixed(1);
    d += `V${y}H${X(edges[i + 1]).toFixed(1)}`;
  }
  return `${d}V${base.toFixed(1)}Z`;
}

// ---------------------------------------------------------------- the live element

class LiveNeuron {
  constructor(root, setStateValue) {
    this.setStateValue = setStateValue;
    this.root = el("div", { class: "bnl-live" });
    root.appendChild(this.root);
    this.controls = el("div", { class: "bnl-controls" }, this.root);
    this.status = el("p", { class: "bnl-status", role: "status" }, this.root);
    this.plot = el("div", { class: "bnl-charts" }, this.root);
    this.sliders = [0, 1, 2].map((i) => this.makeSlider(i));
    this.charts = new Map();
    this.weights = [0, 0, 0];
    this.revision = null;
    this.dragging = false;
    this.pending = false;
    this.seq = 0;
    this.cfg = null;
    this.sample = null;
    this.buf = null;
    this.resizer = new ResizeObserver(() => this.layout());
    this.resizer.observe(this.root);
    STORE.views.add(this);
  }

  makeSlider(i) {
    const row = el("label", { class: "bnl-slider" }, this.controls);
    const name = el("span", { class: "bnl-name" }, row);
    const input = el("input", { type: "range" }, row);
    const value = el("output", { class: "bnl-value" }, row);
    input.addEventListener("pointerdown", () => (this.dragging = true));
    // a release without a change (the pointer came back to where it started) sends nothing
    for (const type of ["pointerup", "pointercancel"]) input.addEventListener(type, () => (this.dragging = false));
    input.addEventListener("input", () => {
      this.weights[i] = Number(input.value);
      this.showValue(i);
      this.schedule();
    });
    // change: the pointer was released, or a key moved the slider by one step.
    input.addEventListener("change", () => {
      this.dragging = false;
      this.weights[i] = Number(input.value);
      this.send();
    });
    return { row, name, input, value };
  }

  showValue(i) {
    const s = this.sliders[i];
    const text = formatNumber(this.weights[i], 2, this.cfg.text.decimal);
    s.value.textContent = text;
    s.input.setAttribute("aria-valuetext", text);
  }

  send() {
    this.seq += 1; // a new value every time, so the server hears a release even at the old weights
    this.setStateValue("weights", { w: [...this.weights], seq: this.seq });
  }

  update(cfg) {
    this.cfg = cfg;
    cfg.names.forEach((label, i) => {
      const s = this.sliders[i];
      s.name.textContent = label;
      s.input.setAttribute("aria-label", label);
      for (const [k, v] of [["min", cfg.range[0]], ["max", cfg.range[1]], ["step", cfg.step]]) s.input.setAttribute(k, v);
    });
    // The server's weights count only when the server itself set them (a preset, the plain sliders):
    // it then raises the revision. Otherwise they are an echo of what this element sent, possibly
    // older than the slider already is (keys pressed quickly), and applying them would jump back.
    if (cfg.revision !== this.revision && !this.dragging) {
      this.weights = [...cfg.weights];
      this.sliders.forEach((s, i) => (s.input.value = this.weights[i]));
    }
    this.revision = cfg.revision;
    this.sliders.forEach((_, i) => this.showValue(i));
    const ids = cfg.charts.map((c) => c.id).join(",");
    if (ids !== [...this.charts.keys()].join(",")) {
      this.plot.replaceChildren();
      this.charts = new Map(cfg.charts.map((spec) => [spec.id, new Chart(this.plot, spec)]));
      this.plot.dataset.count = cfg.charts.length;
      this.layout();
    }
    for (const spec of cfg.charts) {
      const chart = this.charts.get(spec.id);
      chart.spec = spec;
      writeNotation(chart.title, spec.title, false);
      if (spec.ghost && cfg.ghost) el("span", { class: "bnl-legend" }, chart.title).textContent = cfg.text.pinned;
    }
    this.attach();
  }

  attach() {
    const sample = STORE.samples.get(this.cfg?.sample);
    if (sample && sample !== this.sample) {
      this.sample = sample;
      this.buf = buffers(sample.x1.length);
    }
    this.status.textContent = this.sample === sample && sample ? "" : this.cfg.text.loading;
    if (this.sample === sample && sample) this.schedule();
  }

  layout() {
    const count = this.charts.size || 1;
    const width = this.plot.clientWidth || this.root.clientWidth || 600;
    const columns = width < 560 ? 1 : count;
    this.root.classList.toggle("bnl-narrow", width < 560);
    const chartWidth = Math.floor((width - (columns - 1) * 12 - 2) / columns); // 2 px spare: no wrap on rounding
    const height = columns === 1 ? 150 : 250; // a phone: sliders and three charts on one screen
    for (const chart of this.charts.values()) chart.resize(chartWidth, height);
    this.schedule();
  }

  schedule() {
    if (this.pending || !this.sample) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const cfg = this.cfg, sample = this.sample;
    if (!cfg || !sample || sample !== STORE.samples.get(cfg.sample)) return;
    try {
      if (!this.dragging) this.held = {}; // a released slider: each axis fits its data again
      const hold = {};
      for (const spec of cfg.charts) {
        const ranges = [this.held?.[spec.id], spec.ghost && cfg.ghost ? [cfg.ghost.edges[0], cfg.ghost.edges.at(-1)] : null];
        for (const r of ranges.filter(Boolean)) hold[spec.id] = hold[spec.id] ? [Math.min(hold[spec.id][0], r[0]), Math.max(hold[spec.id][1], r[1])] : r;
      }
      const { pass, charts } = computeFrame(sample.x1, sample.x2, this.weights, cfg, this.buf, hold);
      if (this.dragging) this.held = Object.fromEntries(Object.entries(charts).map(([id, c]) => [id, [c.lo, c.hi]]));
      const drawn = {};
      for (const spec of cfg.charts) {
        const h = charts[spec.id];
        const mark = markFor(spec, cfg, pass);
        const ghost = spec.ghost ? cfg.ghost : null;
        this.charts.get(spec.id).draw(h, ghost, mark, spikeFor(spec, cfg, pass), cfg);
        drawn[spec.id] = { counts: Array.from(h.counts), lo: h.lo, hi: h.hi, hold: hold[spec.id] ?? null };
      }
      STORE.last = { weights: [...this.weights], mean: pass.mean, variance: pass.variance, charts: drawn };
      STORE.frames.push(performance.now());
      if (STORE.frames.length > 2000) STORE.frames.splice(0, 1000);
    } catch (error) {
      this.status.textContent = cfg.text.failed;
      this.setStateValue("failed", String(error));
      throw error;
    }
  }

  destroy() {
    this.resizer.disconnect();
    STORE.views.delete(this);
  }
}

// Where ReLU really cuts, on the chart of its input: at 0 of what it receives. On the z chart that
// is 0 without BN (or with BN after the activation) and z = mu_B with BN before it (the normalized
// value is 0 there; gamma = 1, beta = 0). Leaky ReLU, sigmoid and tanh cut nothing.
function markFor(spec, cfg, pass) {
  if (cfg.act !== "relu") return null;
  if (spec.id === "z") {
    if (cfg.bn === "before") return { x: pass.mean, label: cfg.text.cut_bn.replace("{mu}", formatNumber(pass.mean, 2, cfg.text.decimal)) };
    return { x: 0, label: cfg.text.cut };
  }
  if (spec.id === "mid" && cfg.bn === "before") return { x: 0, label: cfg.text.cut };
  return null;
}

// A tall single bin, where one is expected: ReLU's exact zeros, or where BN after the ReLU moved
// them (0 * scale + shift = -mu_B / sigma_B). Its share counts the values equal to that one value,
// not the whole bin (which also holds small values beside it).
function spikeFor(spec, cfg, pass) {
  if (cfg.act !== "relu") return null;
  const values = pass[spec.source];
  const exact = (v) => {
    let count = 0;
    for (let i = 0; i < values.length; i++) if (values[i] === v) count++;
    return count / values.length;
  };
  if (spec.source === "out" && cfg.bn === "after") {
    const at = cfg.text.spike_at.replace("{at}", formatNumber(pass.shift, 2, cfg.text.decimal));
    return { name: cfg.text.spike_moved, at, share: exact(pass.shift) };
  }
  if (spec.source === "out" || (spec.source === "mid" && cfg.bn === "after")) {
    return { name: cfg.text.spike_zero, at: "", share: exact(0) };
  }
  return null;
}

// ---------------------------------------------------------------- the two components

// The sample arrives as bytes: "BNS1", the id's length (uint32), the id (UTF-8, padded to 4 bytes),
// n (uint32), then x1 and x2 as n little-endian float32 each.
function readSample(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== "BNS1") throw new Error(`not a BN Lab sample: ${magic}`);
  const idLength = view.getUint32(4, true);
  const id = new TextDecoder().decode(bytes.subarray(8, 8 + idLength));
  let at = 8 + Math.ceil(idLength / 4) * 4;
  const n = view.getUint32(at, true);
  at += 4;
  // slice() copies into a fresh, aligned buffer: the bytes may sit at any offset of the message.
  const x1 = new Float32Array(bytes.slice(at, at + 4 * n).buffer);
  const x2 = new Float32Array(bytes.slice(at + 4 * n, at + 8 * n).buffer);
  return { id, x1, x2 };
}

const mounted = new WeakMap(); // parentElement -> LiveNeuron

export default function (component) {
  const { name, data, parentElement, setStateValue } = component;
  if (name.endsWith("neuron_sample")) {
    if (!data) return;
    const { id, x1, x2 } = readSample(data);
    if (!STORE.samples.has(id)) {
      STORE.samples.set(id, { x1, x2 });
      while (STORE.samples.size > KEEP_SAMPLES) STORE.samples.delete(STORE.samples.keys().next().value);
    }
    for (const view of STORE.views) if (view.cfg?.sample === id) view.attach();
    return;
  }
  let view = mounted.get(parentElement);
  if (!view) {
    view = new LiveNeuron(parentElement, setStateValue);
    mounted.set(parentElement, view);
  }
  view.setStateValue = setStateValue;
  view.update(data);
  return () => {
    view.destroy();
    mounted.delete(parentElement);
  };
}
