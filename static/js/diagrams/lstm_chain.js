// The LSTM chain (the article's figure 6): three modules, the middle one opened, every arrow
// carrying its vector. Built once with stable ids; update() repaints values, setFocus() lights
// one of the four focus figures (f, i, C, o) or the slide to the next module.
import { CHAIN, EQUATIONS, SYMBOLS } from "../config.js";
import { t as tr } from "../i18n.js";
import { el, label, polyline } from "./svg.js";
import { createStrip } from "./vector_strip.js";

const C = CHAIN;
const [BW, BH] = C.layerBox;
const R = C.opRadius;

// Which focus figures light each element (everything else fades while a focus is on).
const INPUTS = "f i o";
const ARROWS = [
  // id, points, focus, hover key, head?
  ["cprev", [[C.modules.prev.x + C.modules.prev.w, C.cellY], [C.ops.forget.x - R, C.cellY]], "f c", "c_prev"],
  ["fc", [[C.ops.forget.x + R, C.cellY], [C.ops.add.x - R, C.cellY]], "c", "f_c_prev"],
  ["c", [[C.ops.add.x + R, C.cellY], [C.modules.next.x, C.cellY]], "c slide", "c"],
  ["ccopy", [[C.ops.tanh.x, C.cellY], [C.ops.tanh.x, C.ops.tanh.y - R]], "o", "c"],
  ["tanhc", [[C.ops.tanh.x, C.ops.tanh.y + R], [C.ops.output.x, C.ops.output.y - R]], "o", "tanh_c"],
  ["hprev", [[C.modules.prev.x + C.modules.prev.w, C.hY], [320, C.hY], [320, C.busY]], INPUTS, "h_prev", false],
  ["x", [[C.nodes.x[0], C.nodes.x[1] - C.nodeRadius], [C.nodes.x[0], C.busY]], INPUTS, "x", false],
  ["bus", [[320, C.busY], [C.layers.o, C.busY]], INPUTS, "concat", false],
  ["f", [[C.layers.f, C.layerY - BH / 2], [C.layers.f, C.cellY + R]], "f", "f"],
  ["i", [[C.layers.i, C.layerY - BH / 2], [C.layers.i, C.ops.input.y], [C.ops.input.x - R, C.ops.input.y]], "i", "i"],
  ["g", [[C.layers.g, C.layerY - BH / 2], [C.layers.g, C.ops.input.y + R]], "i", "g"],
  ["ig", [[C.ops.input.x, C.ops.input.y - R], [C.ops.add.x, C.cellY + R]], "c", "i_g"],
  ["o", [[C.layers.o, C.layerY - BH / 2], [C.layers.o, C.ops.output.y], [C.ops.output.x - R, C.ops.output.y]], "o", "o"],
  ["h", [[C.ops.output.x, C.ops.output.y + R], [C.ops.output.x, C.hY], [C.modules.next.x, C.hY]], "o slide", "h"],
  ["hup", [[C.nodes.h[0], C.hY], [C.nodes.h[0], C.nodes.h[1] + C.nodeRadius]], "o", "h"],
];
for (const f of ["f", "i", "g", "o"]) {
  ARROWS.push([`branch-${f}`, [[C.layers[f], C.busY], [C.layers[f], C.layerY + BH / 2]], f === "g" ? "i" : f, "concat"]);
}
const LAYER_FOCUS = { f: "f", i: "i", g: "i", o: "o" };
const OP_KEYS = { forget: "f_c_prev", input: "i_g", add: "c", tanh: "tanh_c", output: "h" };
const OP_FOCUS = { forget: "f c", input: "i c", add: "c", tanh: "o", output: "o" };
const STRIP_FOCUS = {
  c_prev: "f c", f: "f", i: "i", g: "i", f_c_prev: "c", i_g: "c", c: "c o slide",
  tanh_c: "o", o: "o", h: "o slide", h_prev: INPUTS, x: INPUTS,
};
// Fields drawn with the sequential gate scale; the rest are signed.
const STRIP_FIELD = { f: "f", i: "i", o: "o" };

// A mirrored strip's anchor: the point it hangs from is on the other side of it.
const MIRROR_ANCHOR = { left: "right", right: "left", above: "above-end", below: "below-end" };
// The backward direction reads t + 1 before t: its carried-in state is Cₜ₊₁, hₜ₊₁.
const ahead = (text) => (typeof text === "string" ? text.replaceAll("ₜ₋₁", "ₜ₊₁") : text);
// A projection (torch's proj_size): the output product is h_unprojected = o * tanh(C) and
// a small W_hr box on the h line makes h = W_hr h_unprojected, of proj units.
const PROJ_BOX = { x: 752, w: 44, h: 22 };
const PROJ_EQUATIONS = { h: "hₜ = W_hr·(oₜ * tanh(Cₜ))", h_unprojected: "oₜ * tanh(Cₜ)" };

// cell: "lstm" (default), "lstm_peephole" or "lstm_coupled" (its i is 1 - f, not a layer).
// mirror: drawn right to left (a bidirectional model's backward direction): the step read
// before t sits on the right, and every arrow, the cell-state belt too, points leftwards.
// proj: the proj_size of an LSTM with a projection (0: none); h then has proj units.
export function drawChain(svg, { hidden, inputSize, prefix = "", cell = "lstm", mirror = false, proj = 0 }) {
  const coupled = cell === "lstm_coupled";
  const opKeys = proj ? { ...OP_KEYS, output: "h_unprojected" } : OP_KEYS;
  const hUnits = proj || hidden;
  const W = C.viewBox[0];
  const mx = (x) => (mirror ? W - x : x);
  const mp = (points) => points.map(([x, y]) => [mx(x), y]);
  const sym = (key) => (mirror ? ahead(SYMBOLS[key]) : SYMBOLS[key]);
  svg.dataset.mirror = String(mirror);
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${C.viewBox[0]} ${C.viewBox[1]}`);
  const id = (name) => `${prefix}${name}`;
  const defs = el("defs", {}, svg);
  const marker = el("marker", {
    id: id("head"), viewBox: "0 0 10 10", refX: 8, refY: 5,
    markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse",
  }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }, marker);

  const focusables = [];
  const tag = (node, focus, key) => {
    node.dataset.focus = focus;
    if (key) node.dataset.key = key;
    focusables.push(node);
    return node;
  };

  for (const [name, m] of Object.entries(C.modules)) {
    el("rect", { id: id(`module-${name}`), x: mirror ? W - m.x - m.w : m.x, y: m.y, width: m.w, height: m.h, rx: 20, class: "module" }, svg);
  }
  const neighbour = {};
  for (const name of ["prev", "next"]) {
    const m = C.modules[name];
    const g = el("g", { id: id(`neighbour-${name}`), class: "neighbour", "data-key": `module-${name}` }, svg);
    label(g, mx(m.x + m.w / 2), m.y + m.h / 2 + 10, "A", "module-label");
    const step = label(g, mx(m.x + m.w / 2), m.y + m.h - 16, "", "step-label");
    const [x0, ny] = C.nodes[name === "prev" ? "xPrev" : "xNext"];
    const nx = mx(x0);
    el("line", { x1: nx, y1: ny - C.nodeRadius, x2: nx, y2: m.y + m.h, class: "arrow" }, g);
    el("circle", { cx: nx, cy: ny, r: C.nodeRadius + 4, class: "node-input" }, g);
    const token = label(g, nx, ny + 5, "", "node-token");
    neighbour[name] = { g, step, token };
  }
  label(svg, mx(C.modules.t.x + 24), C.modules.t.y + C.modules.t.h - 14, "A", "module-label small", mirror ? "end" : "start");

  const arrows = {};
  for (const [name, points, focus, key, head = true] of ARROWS) {
    const g = tag(el("g", { id: id(`path-${name}`), class: "path" }, svg), focus, key);
    el("polyline", { points: polyline(mp(points)), class: "arrow", "marker-end": head ? `url(#${id("head")})` : null }, g);
    el("polyline", { points: polyline(mp(points)), class: "hit" }, g);
    arrows[name] = g;
  }

  const xx = mx(C.nodes.x[0]);
  const xy = C.nodes.x[1];
  const nodeX = tag(el("g", { id: id("node-x"), class: "node" }, svg), INPUTS, "x");
  el("circle", { cx: xx, cy: xy, r: C.nodeRadius + 4, class: "node-input" }, nodeX);
  const xToken = label(nodeX, xx, xy + 5, "xₜ", "node-token");
  const hx = mx(C.nodes.h[0]);
  const hy = C.nodes.h[1];
  const nodeH = tag(el("g", { id: id("node-h"), class: "node" }, svg), "o", "h");
  el("circle", { cx: hx, cy: hy, r: C.nodeRadius, class: "node-output" }, nodeH);
  label(nodeH, hx, hy + 5, "hₜ", "node-text");

  for (const [f, x0] of Object.entries(C.layers)) {
    const x = mx(x0);
    const g = tag(el("g", { id: id(`layer-${f}`), class: "layer", "data-field": f, tabindex: 0, role: "button", "aria-label": `${tr(`name.${f}`)} ${SYMBOLS[f]}` }, svg), LAYER_FOCUS[f], f);
    el("rect", { x: x - BW / 2, y: C.layerY - BH / 2, width: BW, height: BH, rx: 3 }, g);
    label(g, x, C.layerY + 5, f === "g" ? "tanh" : coupled && f === "i" ? "1 − f" : "σ", "layer-text");
    label(g, mirror ? x - BW / 2 - 3 : x + BW / 2 + 3, C.layerY - BH / 2 - 3, SYMBOLS[f], "layer-symbol", mirror ? "end" : "start");
  }
  for (const [name, op] of Object.entries(C.ops)) {
    const g = tag(el("g", { id: id(`op-${name}`), class: "op", tabindex: 0, role: "button", "aria-label": `${tr(`name.${opKeys[name]}`)} ${SYMBOLS[opKeys[name]]}` }, svg), OP_FOCUS[name], opKeys[name]);
    el("ellipse", { cx: mx(op.x), cy: op.y, rx: op.label === "tanh" ? 22 : R, ry: R }, g);
    label(g, mx(op.x), op.y + (op.label === "tanh" ? 4 : 5), op.label, "op-text");
  }

  if (proj) {
    const g = tag(el("g", { id: id("proj-hr"), class: "layer proj", tabindex: 0, role: "button", "aria-label": tr("chain.proj", { p: proj, h: hidden }) }, svg), "o slide", "h");
    el("rect", { x: mx(PROJ_BOX.x) - PROJ_BOX.w / 2, y: C.hY - PROJ_BOX.h / 2, width: PROJ_BOX.w, height: PROJ_BOX.h, rx: 3 }, g);
    label(g, mx(PROJ_BOX.x), C.hY + 5, "W_hr", "layer-text");
  }

  const place = (at) => (mirror ? { ...at, x: mx(at.x), anchor: MIRROR_ANCHOR[at.anchor] ?? at.anchor } : at);
  const strips = {};
  for (const [key, at] of Object.entries(C.strips)) {
    const units = key === "x" ? inputSize : key === "h" || key === "h_prev" ? hUnits : hidden;
    const strip = createStrip(svg, {
      id: id(`strip-${key}`), key, ...place(at), units, field: STRIP_FIELD[key] ?? "c", caption: sym(key),
    });
    tag(strip.g, STRIP_FOCUS[key], key);
    strips[key] = strip;
  }
  // Ghost copies of C_t and h_t that travel to the next module during the slide.
  const carry = el("g", { id: id("carry"), class: "carry", "data-focus": "slide" }, svg);
  const carryStrips = {
    c: createStrip(carry, { id: id("carry-c"), key: "c", ...place(C.strips.c), units: hidden, field: "c" }),
    h: createStrip(carry, { id: id("carry-h"), key: "h", ...place(C.strips.h), units: hUnits, field: "h" }),
  };
  carry.style.display = "none";

  let view = null;
  let focus = "";

  return {
    svg, strips, arrows, neighbour, mirror,
    get view() { return view; },
    // v: {t, T, at: {field: [H]}, prev: {c, h}, x: [D], tokens: {prev, cur, next}}
    update(v) {
      view = v;
      for (const [key, strip] of Object.entries(strips)) strip.paint(valuesOf(v, key));
      carryStrips.c.paint(v.at.c);
      carryStrips.h.paint(v.at.h);
      xToken.textContent = v.tokens.cur ?? "xₜ";
      for (const f of ["f", "i", "g", "o"]) {
        svg.getElementById(id(`layer-${f}`))?.classList.toggle("clamped", v.clamped?.field === f);
      }
      const way = v.step ?? 1; // -1: a backward direction, which reads t + 1 before t
      for (const [name, dt] of [["prev", -way], ["next", way]]) {
        const n = neighbour[name];
        const inside = v.t + dt >= 0 && v.t + dt < v.T;
        n.g.classList.toggle("absent", !inside);
        n.step.textContent = inside ? `t = ${v.t + dt}` : ""; // no label for a step that does not exist
        n.token.textContent = inside ? (v.tokens[name] ?? "") : "";
      }
    },
    select(unit) {
      for (const strip of Object.values(strips)) strip.select(strip.key === "x" ? -1 : unit);
    },
    highlight(unit) {
      for (const strip of Object.values(strips)) strip.highlight(strip.key === "x" ? -1 : unit);
    },
    // name: "" (whole step), "f", "i", "c", "o" or "slide"
    setFocus(name) {
      if (name === focus) return;
      focus = name;
      svg.dataset.focus = name;
      for (const node of focusables) {
        const lit = name !== "" && node.dataset.focus.split(" ").includes(name);
        node.classList.toggle("lit", lit);
        node.classList.toggle("faded", name !== "" && !lit);
      }
      carry.style.display = name === "slide" ? "" : "none";
    },
    // p in [0, 1]: how far C_t and h_t have travelled towards the next module.
    setSlide(p) {
      carry.setAttribute("transform", `translate(${(p * C.slideDx * (mirror ? -1 : 1)).toFixed(1)},0)`);
      carry.style.opacity = String(1 - 0.6 * p);
    },
    describe(key, unit) {
      const d = describe(view, key, unit, cell, proj);
      if (!d || !mirror) return d;
      return { ...d, title: `${ahead(d.title)} · ${tr("chain.backward_short")}`, equation: ahead(d.equation) };
    },
  };
}

export function valuesOf(v, key) {
  if (!v) return null;
  if (key === "c_prev") return v.prev.c;
  if (key === "h_prev") return v.prev.h;
  if (key === "x") return v.x;
  return v.at[key] ?? null;
}

function originalOf(v, key) {
  if (!v?.orig) return null;
  if (key === "c_prev") return v.orig.prev.c;
  if (key === "h_prev") return v.orig.prev.h;
  if (key === "x") return null;
  return v.orig.at[key] ?? null;
}

const MAX_ROWS = 32;

// Tooltip content for an element: its name, equation and numbers at this step.
const VARIANT_EQUATIONS = {
  lstm_coupled: { i: "iₜ = 1 − fₜ", c: "Cₜ = fₜ * Cₜ₋₁ + (1 − fₜ) * C̃ₜ" },
  lstm_peephole: {
    f: "fₜ = σ(W_f·[hₜ₋₁, xₜ] + w_{cf} * Cₜ₋₁ + b_f)",
    i: "iₜ = σ(W_i·[hₜ₋₁, xₜ] + w_{ci} * Cₜ₋₁ + b_i)",
    o: "oₜ = σ(W_o·[hₜ₋₁, xₜ] + w_{co} * Cₜ + b_o)",
  },
};

function describe(v, key, unit, cell = "lstm", proj = 0) {
  if (!v) return null;
  if (key === "module-prev" || key === "module-next") {
    const dt = (key === "module-prev" ? -1 : 1) * (v.step ?? 1);
    return { title: tr(`chain.${key}`, { t: v.t + dt }), note: tr("chain.neighbour_note") };
  }
  if (key === "concat") {
    return { title: tr("name.concat"), equation: "[hₜ₋₁, xₜ]", note: tr("chain.concat_note") };
  }
  const values = valuesOf(v, key);
  if (!values) return null;
  const orig = originalOf(v, key);
  const n = values.length;
  let units = [...Array(Math.min(n, MAX_ROWS)).keys()];
  if (n > MAX_ROWS) units = [...new Set([unit, v.unit].filter((u) => u >= 0 && u < n))];
  const clampNote = v.clamped?.field === key
    ? tr("chain.clamped_note", { value: v.clamped.value, units: v.clamped.units ? v.clamped.units.join(", ") : tr("clamp.all_units") })
    : undefined;
  const rows = units.map((u) => ({
    label: key === "x" ? `x[${u}]` : `${tr("chain.unit")} ${u}`,
    value: values[u],
    original: orig ? orig[u] : undefined,
    testid: `tip-${key}-${u}`,
    current: u === unit,
  }));
  let note;
  if (n > MAX_ROWS) {
    let lo = Infinity, hi = -Infinity, sum = 0;
    for (const x of values) { lo = Math.min(lo, x); hi = Math.max(hi, x); sum += x; }
    note = tr("chain.summary", { n, min: lo.toFixed(3), mean: (sum / n).toFixed(3), max: hi.toFixed(3) });
  }
  return {
    title: `${tr(`name.${key}`)}  ${SYMBOLS[key] ?? ""}  (t = ${v.t})`,
    equation: (proj ? PROJ_EQUATIONS[key] : undefined) ?? VARIANT_EQUATIONS[cell]?.[key] ?? EQUATIONS[key],
    rows,
    headers: orig ? ["", tr("clamp.clamped"), tr("clamp.original")] : undefined,
    note: [clampNote, note].filter(Boolean).join(" ") || undefined,
  };
}
