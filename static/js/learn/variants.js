// The variants (figure 14) in the same grammar: peephole and coupled LSTMs are the explorer's
// chain with a few strokes added; the GRU gets its own opened module. Also the legend
// (figure 7) and helpers that light a chosen part of the chain (figures 8 and 9).
import { CHAIN, NOTATION } from "../config.js";
import { el, label, polyline } from "../diagrams/svg.js";
import { createStrip } from "../diagrams/vector_strip.js";

const C = CHAIN;

// Light only the chain elements whose ids (without the prefix) are listed; fade the rest.
export function lightOnly(chain, prefix, names) {
  const keep = new Set(names.map((n) => `${prefix}${n}`));
  for (const node of chain.svg.querySelectorAll("[data-focus]")) {
    if (node.id === `${prefix}carry`) continue;
    const lit = keep.has(node.id);
    node.classList.toggle("lit", lit);
    node.classList.toggle("faded", !lit);
  }
}

export const CELL_LINE = ["path-cprev", "path-fc", "path-c", "op-forget", "op-add", "strip-c_prev", "strip-f_c_prev", "strip-c"];
export const GATE_PART = ["path-cprev", "path-fc", "op-forget", "layer-f", "path-f", "strip-f", "strip-c_prev", "strip-f_c_prev"];

// Peepholes: each gate layer also sees the cell state (dashed lines from the cell line).
export function addPeepholes(chain) {
  const g = el("g", { class: "peepholes", id: "peepholes" }, chain.svg);
  const [, BH] = C.layerBox;
  for (const [f, dx] of [["f", 14], ["i", 14], ["o", 14]]) {
    const x = C.layers[f] + dx;
    el("polyline", { points: polyline([[x, C.cellY], [x, C.layerY - BH / 2]]), class: "arrow peephole", "data-gate": f }, g);
  }
  return g;
}

// Coupled gates: the input gate is 1 - f, drawn as a pointwise "1-" fed by the forget gate.
export function addCoupling(chain, prefix) {
  const g = el("g", { class: "coupling", id: "coupling" }, chain.svg);
  chain.svg.getElementById(`${prefix}layer-i`)?.classList.add("replaced");
  const y = 300;
  el("polyline", { points: polyline([[C.layers.f, y], [C.layers.i - 18, y]]), class: "arrow" }, g);
  const op = el("g", { class: "op" }, g);
  el("ellipse", { cx: C.layers.i, cy: y, rx: 18, ry: 12 }, op);
  label(op, C.layers.i, y + 5, "1−", "op-text");
  return g;
}

// The GRU, opened: one state line on top, r and z gates, the candidate n (PyTorch's names).
export function drawGru(svg, { hidden, inputSize }) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", "0 0 900 540");
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "gru-head", viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }, marker);
  const m = "url(#gru-head)";
  const arrow = (pts, head = true) => el("polyline", { points: polyline(pts), class: "arrow", "marker-end": head ? m : null }, svg);
  el("rect", { x: 60, y: 60, width: 720, height: 420, rx: 20, class: "module" }, svg);
  const HY = 110;
  const LY = 370;
  const BUS = 420;
  const ops = { zh: [300, HY, "×"], add: [560, HY, "+"], minus: [430, 250, "1−"], zn: [560, 250, "×"] };
  arrow([[20, HY], [288, HY]]);
  arrow([[312, HY], [548, HY]]);
  arrow([[572, HY], [860, HY]]);
  arrow([[700, HY], [700, 40]]);
  arrow([[120, HY], [120, BUS], [560, BUS]], false);
  arrow([[240, 520], [240, BUS]], false);
  for (const [x] of [[200], [300], [560]]) arrow([[x, BUS], [x, LY + 14]]);
  arrow([[200, LY - 14], [200, 300], [546, 300], [546, LY - 14]]);
  arrow([[300, LY - 14], [300, HY + 12]]);
  arrow([[300, 250], [412, 250]]);
  arrow([[448, 250], [548, 250]]);
  arrow([[574, LY - 14], [574, 300], [560, 262]], true);
  arrow([[560, 238], [560, HY + 12]]);
  const layer = (x, text, name) => {
    const g = el("g", { class: "layer", id: `gru-layer-${name}` }, svg);
    el("rect", { x: x - 28, y: LY - 14, width: 56, height: 28, rx: 3 }, g);
    label(g, x, LY + 5, text, "layer-text");
    label(g, x, LY + 30, `${name}ₜ`, "layer-symbol");
  };
  layer(200, "σ", "r");
  layer(300, "σ", "z");
  layer(560, "tanh", "n");
  for (const [name, [x, y, text]] of Object.entries(ops)) {
    const g = el("g", { class: "op", id: `gru-op-${name}` }, svg);
    el("ellipse", { cx: x, cy: y, rx: text.length > 1 ? 18 : 12, ry: 12 }, g);
    label(g, x, y + 5, text, "op-text");
  }
  const circle = (x, y, cls, text) => {
    el("circle", { cx: x, cy: y, r: 16, class: cls }, svg);
    label(svg, x, y + 5, text, "node-text");
  };
  circle(240, 520, "node-input", "xₜ");
  circle(700, 28, "node-output", "hₜ");
  const strip = (key, x, y, anchor, units, field, caption) => createStrip(svg, { id: `gru-strip-${key}`, key, x, y, anchor, units, field, caption });
  const strips = {
    h_prev: strip("h_prev", 80, HY - 8, "above", hidden, "h", "hₜ₋₁"),
    r: strip("r", 192, 330, "left", hidden, "r", "rₜ"),
    z: strip("z", 308, 180, "right", hidden, "z", "zₜ"),
    zh: strip("zh", 380, HY - 8, "above", hidden, "h", "zₜ⊙hₜ₋₁"),
    n: strip("n", 590, 330, "right", hidden, "c", "nₜ"),
    zn: strip("zn", 568, 185, "right", hidden, "c", "(1−zₜ)⊙nₜ"),
    h: strip("h", 720, 60, "right", hidden, "h", "hₜ"),
    x: strip("x", 256, 480, "right", inputSize, "c", "xₜ"),
  };
  let values = null;
  return {
    strips,
    get values() { return values; },
    update({ at, hPrev, x }) {
      const zh = at.z.map((z, k) => z * hPrev[k]);
      const zn = at.z.map((z, k) => (1 - z) * at.n[k]);
      values = { h_prev: hPrev, r: at.r, z: at.z, zh, n: at.n, zn, h: at.h, x };
      for (const [k, s] of Object.entries(strips)) s.paint(values[k]);
    },
  };
}

// Figure 7, the legend: each element of the grammar with its name from the catalogue. Each
// item is drawn about x = 0, its name measured, then the items are spread out (NOTATION).
export function drawNotation(svg, names) {
  const N = NOTATION;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${N.width} ${N.height}`);
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "nota-head", viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }, marker);
  const y = N.symbolY;
  const line = (g, pts, head = true) => el("polyline", { points: polyline(pts), class: "arrow", "marker-end": head ? "url(#nota-head)" : null }, g);
  // [half the symbol's width, how to draw it about x = 0]
  const items = [
    [30, (g) => { const l = el("g", { class: "layer" }, g); el("rect", { x: -30, y: y - 15, width: 60, height: 30, rx: 3 }, l); label(l, 0, y + 5, "σ", "layer-text"); }],
    [14, (g) => { const o = el("g", { class: "op" }, g); el("ellipse", { cx: 0, cy: y, rx: 14, ry: 14 }, o); label(o, 0, y + 5, "×", "op-text"); }],
    [50, (g) => line(g, [[-50, y], [45, y]])],
    [50, (g) => { line(g, [[-50, y - 25], [-10, y], [45, y]]); line(g, [[-50, y + 25], [-10, y]], false); }],
    [50, (g) => { line(g, [[-50, y], [-10, y], [40, y - 25]]); line(g, [[-10, y], [40, y + 25]]); }],
  ];
  const placed = items.map(([half, draw], k) => {
    const g = el("g", { class: "notation-item", id: `notation-${k}` }, svg);
    draw(g);
    const text = label(g, 0, N.labelY, names[k], "notation-label");
    text.setAttribute("data-k", String(k));
    // 0 if the drawing is not laid out (no page): the symbols' widths alone then set the spacing.
    return { g, width: Math.max(2 * half, text.getComputedTextLength()) };
  });
  const total = placed.reduce((sum, p) => sum + p.width, 0);
  const gap = Math.max(N.minGap, (N.width - 2 * N.margin - total) / (placed.length - 1));
  const width = Math.max(N.width, Math.ceil(total + gap * (placed.length - 1) + 2 * N.margin));
  svg.setAttribute("viewBox", `0 0 ${width} ${N.height}`);
  let left = N.margin;
  for (const p of placed) {
    p.g.setAttribute("transform", `translate(${(left + p.width / 2).toFixed(1)},0)`);
    left += p.width + gap;
  }
}
