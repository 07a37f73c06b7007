// The LSTM chain (the article's figure 6): three modules, the middle one opened.
// drawChain() builds the SVG once with stable ids; updateChain() only changes values.
import { GATE_FIELDS, SYMBOLS, gateColour, signedColour } from "../config.js";

const NS = "http://www.w3.org/2000/svg";
const CELL_Y = 70; // the cell-state "conveyor belt"
const HIDDEN_Y = 300; // h_{t-1} -> h_t line along the bottom

// Layers (yellow boxes) and pointwise operations (pink circles) of the opened module.
const LAYERS = [
  { id: "f", x: 345, label: "σ" },
  { id: "i", x: 405, label: "σ" },
  { id: "g", x: 465, label: "tanh" },
  { id: "o", x: 525, label: "σ" },
];
const OPS = [
  { id: "op-forget", x: 345, y: CELL_Y, label: "×" },
  { id: "op-input", x: 435, y: 150, label: "×" },
  { id: "op-add", x: 435, y: CELL_Y, label: "+" },
  { id: "op-tanh", x: 580, y: 140, label: "tanh" },
  { id: "op-output", x: 580, y: 215, label: "×" },
];
// Where each traced vector is shown as a strip of unit cells.
const STRIPS = {
  c_prev: { x: 190, y: CELL_Y - 26 },
  f: { x: 300, y: 180 },
  i: { x: 360, y: 180 },
  g: { x: 450, y: 190 },
  o: { x: 500, y: 180 },
  c: { x: 640, y: CELL_Y - 26 },
  h: { x: 640, y: HIDDEN_Y - 26 },
  h_prev: { x: 190, y: HIDDEN_Y - 26 },
};

function el(name, attrs, parent) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function text(parent, x, y, content, cls) {
  const t = el("text", { x, y, class: cls ?? "label", "text-anchor": "middle" }, parent);
  t.textContent = content;
  return t;
}

function arrow(parent, points, id) {
  return el("polyline", { id, points: points.map((p) => p.join(",")).join(" "), class: "arrow", "marker-end": "url(#head)" }, parent);
}

export function drawChain(svg, hidden) {
  svg.replaceChildren();
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "head", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }, marker);

  // Neighbouring modules t-1 and t+1 stay closed; the middle one is opened.
  for (const [id, x, label] of [["module-prev", 20, "A"], ["module-next", 730, "A"]]) {
    el("rect", { id, x, y: 40, width: 150, height: 280, rx: 18, class: "module" }, svg);
    text(svg, x + 75, 190, label, "module-label");
  }
  el("rect", { id: "module-t", x: 270, y: 40, width: 380, height: 280, rx: 18, class: "module" }, svg);
  text(svg, 205, 350, "t-1", "step-label");
  text(svg, 460, 350, "t", "step-label");
  text(svg, 805, 350, "t+1", "step-label");

  arrow(svg, [[170, CELL_Y], [335, CELL_Y]], "path-c-prev");
  arrow(svg, [[355, CELL_Y], [425, CELL_Y]], "path-c-forgotten");
  arrow(svg, [[445, CELL_Y], [730, CELL_Y]], "path-c");
  arrow(svg, [[580, CELL_Y], [580, 128]], "path-c-copy");
  arrow(svg, [[580, 152], [580, 205]], "path-tanh-c");
  arrow(svg, [[170, HIDDEN_Y], [320, HIDDEN_Y], [320, 260], [525, 260]], "path-concat");
  arrow(svg, [[580, 225], [580, HIDDEN_Y], [730, HIDDEN_Y]], "path-h");
  arrow(svg, [[600, 215], [620, 215], [620, 20]], "path-h-up");
  arrow(svg, [[345, 232], [345, CELL_Y + 12]], "path-f");
  arrow(svg, [[405, 232], [405, 150], [425, 150]], "path-i");
  arrow(svg, [[465, 232], [465, 150], [445, 150]], "path-g");
  arrow(svg, [[435, 140], [435, CELL_Y + 12]], "path-ig");
  arrow(svg, [[525, 232], [525, 215], [570, 215]], "path-o");
  arrow(svg, [[300, 345], [300, 262]], "path-x");
  el("circle", { id: "node-x", cx: 300, cy: 345, r: 12, class: "node-input" }, svg);
  text(svg, 300, 349, "x", "node-text");
  el("circle", { id: "node-h", cx: 620, cy: 16, r: 12, class: "node-output" }, svg);
  text(svg, 620, 20, "h", "node-text");

  for (const layer of LAYERS) {
    const g = el("g", { id: `layer-${layer.id}`, class: "layer", "data-field": layer.id }, svg);
    el("rect", { x: layer.x - 22, y: 232, width: 44, height: 24, rx: 3 }, g);
    text(g, layer.x, 249, layer.label, "layer-text");
    el("title", {}, g).textContent = SYMBOLS[layer.id];
  }
  for (const op of OPS) {
    const g = el("g", { id: op.id, class: "op" }, svg);
    el("ellipse", { cx: op.x, cy: op.y, rx: op.label === "tanh" ? 20 : 11, ry: 11 }, g);
    text(g, op.x, op.y + 4, op.label, "op-text");
  }

  const size = Math.max(4, Math.min(10, Math.floor(80 / hidden)));
  for (const [key, at] of Object.entries(STRIPS)) {
    const g = el("g", { id: `strip-${key}`, class: "strip" }, svg);
    for (let u = 0; u < hidden; u++) {
      el("rect", { id: `strip-${key}-${u}`, x: at.x + u * size, y: at.y, width: size, height: size, "data-unit": u }, g);
    }
  }
}

function paintStrip(key, values, field) {
  const colour = GATE_FIELDS.has(field) ? gateColour : signedColour;
  values.forEach((v, u) => {
    const cell = document.getElementById(`strip-${key}-${u}`);
    if (cell) cell.setAttribute("fill", colour(v));
  });
}

// layer: the API's per-layer trace; t: the step shown in the middle module.
export function updateChain(layer, t) {
  const hidden = layer.h[0].length;
  const zeros = new Array(hidden).fill(0);
  for (const f of ["f", "i", "g", "o", "c", "h"]) paintStrip(f, layer[f][t], f);
  paintStrip("c_prev", t > 0 ? layer.c[t - 1] : zeros, "c");
  paintStrip("h_prev", t > 0 ? layer.h[t - 1] : zeros, "h");
}
