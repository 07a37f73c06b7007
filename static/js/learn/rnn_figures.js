// The plain RNN's figures in the article's grammar: rolled (fig. 1), unrolled (fig. 2, also
// used for the dependency figures 3 and 4) and the opened module with its one tanh layer
// (fig. 5). Built once; update(t) repaints the vectors each arrow carries at step t.
import { RNN_FIG } from "../config.js";
import { el, label, polyline } from "../diagrams/svg.js";
import { createStrip } from "../diagrams/vector_strip.js";

const NODE_R = RNN_FIG.nodeR;

function head(svg, id) {
  const defs = el("defs", {}, svg);
  const marker = el("marker", {
    id, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse",
  }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }, marker);
  return `url(#${id})`;
}

function arrow(parent, points, marker, cls = "arrow") {
  return el("polyline", { points: polyline(points), class: cls, "marker-end": marker }, parent);
}

function node(parent, x, y, kind, text) {
  const g = el("g", { class: "node" }, parent);
  el("circle", { cx: x, cy: y, r: NODE_R, class: kind === "x" ? "node-input" : "node-output" }, g);
  label(g, x, y + 5, text, "node-text");
  return g;
}

function moduleBox(parent, x, y, w, h, text = "A") {
  const g = el("g", { class: "rnn-module" }, parent);
  el("rect", { x, y, width: w, height: h, rx: 16, class: "module" }, g);
  if (text) label(g, x + w / 2, y + h / 2 + 10, text, "module-label");
  return g;
}

// A module with x below and h above: x's arrow leaves the rim of its node and ends on the
// module's bottom edge, h's leaves the top edge and ends on the rim of its node.
function moduleWithNodes(parent, { x, y, w, h }, xY, hY, marker) {
  const cx = x + w / 2;
  moduleBox(parent, x, y, w, h);
  arrow(parent, [[cx, xY - NODE_R], [cx, y + h]], marker);
  arrow(parent, [[cx, y], [cx, hY + NODE_R]], marker);
  return cx;
}

// The loop from a module's right edge back into it (see RNN_FIG): its path and how far right
// the drawn curve reaches (sampled from the Bézier, plus half of .arrow's 2.5 stroke).
const HALF_STROKE = 1.25;
function loopPath(edgeX, { out, in: back, reach, lead }) {
  const [x0, x1, x3] = [edgeX, edgeX + reach, edgeX + lead];
  let right = Math.max(x0, x3);
  for (let k = 1; k < 64; k++) {
    const t = k / 64;
    right = Math.max(right, (1 - t) ** 3 * x0 + 3 * (1 - t) * t * x1 + t ** 3 * x3);
  }
  return { d: `M ${x0} ${out} C ${x1} ${out} ${x1} ${back} ${x3} ${back} L ${edgeX} ${back}`, right: right + HALF_STROKE };
}

// Figure 1: one module A, x_t below, h_t above, the loop carrying h_{t-1} back in.
export function drawRolled(svg, { hidden, inputSize }) {
  const G = RNN_FIG.rolled;
  const mod = G.module;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${G.viewBox.join(" ")}`);
  const m = head(svg, "rolled-head");
  moduleWithNodes(svg, mod, G.x[1], G.h[1], m);
  const loop = el("path", { d: loopPath(mod.x + mod.w, G.loop).d, class: "arrow", "marker-end": m, id: "rolled-loop" }, svg);
  node(svg, ...G.x, "x", "xₜ");
  node(svg, ...G.h, "h", "hₜ");
  const S = G.strips;
  const strips = {
    x: createStrip(svg, { id: "rolled-x", key: "x", x: G.x[0] + S.dx, y: S.xY, anchor: "right", units: inputSize, field: "c", caption: "xₜ" }),
    h: createStrip(svg, { id: "rolled-h", key: "h", x: G.h[0] + S.dx, y: S.hY, anchor: "right", units: hidden, field: "h", caption: "hₜ" }),
    loop: createStrip(svg, { id: "rolled-hprev", key: "h_prev", x: S.loopX, y: S.loopY, anchor: "right", units: hidden, field: "h", caption: "hₜ₋₁" }),
  };
  const dot = el("circle", { r: 6, class: "state-dot", id: "rolled-dot" }, svg);
  const total = loop.getTotalLength();
  let anim = 0;
  const travel = () => {
    cancelAnimationFrame(anim);
    const start = performance.now();
    const frame = (now) => {
      const p = Math.min(1, (now - start) / 600);
      const pt = loop.getPointAtLength(p * total);
      dot.setAttribute("cx", pt.x.toFixed(1));
      dot.setAttribute("cy", pt.y.toFixed(1));
      if (p < 1) anim = requestAnimationFrame(frame);
    };
    anim = requestAnimationFrame(frame);
  };
  return {
    update({ x, h, hPrev }) {
      strips.x.paint(x);
      strips.h.paint(h);
      strips.loop.paint(hPrev);
      travel();
    },
  };
}

// Figure 2 (and 3, 4): the rolled module, "=", and a window of n copies passing the state on.
// marks: optional {inputs: [k...], output: k} window positions to light for the dependency figures.
export function drawUnrolled(svg, { hidden, inputSize, n = 6, rolled = true, marks = null, idPrefix = "unrolled" }) {
  const G = RNN_FIG.unrolled;
  const { y, w, h } = G.module;
  svg.replaceChildren();
  const m = head(svg, `${idPrefix}-head`);
  let left = G.margin;
  if (rolled) {
    const cx = moduleWithNodes(svg, { x: G.margin, y, w, h }, G.xY, G.hY, m);
    const loop = loopPath(G.margin + w, G.loop);
    el("path", { d: loop.d, class: "arrow", "marker-end": m }, svg);
    node(svg, cx, G.xY, "x", "xₜ");
    node(svg, cx, G.hY, "h", "hₜ");
    // The "=" sits in its own slot, `gap` clear of the loop's reach and of the first copy.
    const eq = G.equals;
    label(svg, loop.right + eq.gap + eq.width / 2, y + h / 2 + eq.dy, "=", "equals-sign");
    left = Math.ceil(loop.right + 2 * eq.gap + eq.width);
  }
  const W = left + n * G.gapX + G.margin;
  svg.setAttribute("viewBox", `0 0 ${W} ${G.height}`);
  const S = G.strips;
  const cols = [];
  for (let k = 0; k < n; k++) {
    const x0 = left + k * G.gapX;
    const g = el("g", { class: "unrolled-col", id: `${idPrefix}-col-${k}`, "data-col": k }, svg);
    const cx = moduleWithNodes(g, { x: x0, y, w, h }, G.xY, G.hY, m);
    const xs = node(g, cx, G.xY, "x", "");
    const hs = node(g, cx, G.hY, "h", "");
    const xLabel = xs.querySelector("text");
    const hLabel = hs.querySelector("text");
    xLabel.classList.add("small-node");
    hLabel.classList.add("small-node");
    let link = null;
    if (k < n - 1) link = arrow(g, [[x0 + w, y + h / 2], [x0 + G.gapX, y + h / 2]], m, "arrow state-link");
    const strips = {
      x: createStrip(g, { id: `${idPrefix}-x-${k}`, key: "x", x: cx + S.dx, y: S.xY, anchor: "right", units: inputSize, field: "c" }),
      h: createStrip(g, { id: `${idPrefix}-h-${k}`, key: "h", x: cx + S.dx, y: S.hY, anchor: "right", units: hidden, field: "h" }),
    };
    cols.push({ g, strips, xLabel, hLabel, link });
  }
  if (marks) {
    for (const k of marks.inputs) cols[k]?.g.classList.add("mark-input");
    cols[marks.output]?.g.classList.add("mark-output");
  }
  return {
    cols,
    // T steps in all; the window starts at `start`; step t is the one being computed.
    update({ xs, hs, t, start }) {
      cols.forEach((col, k) => {
        const s = start + k;
        const inside = s < hs.length;
        col.xLabel.textContent = inside ? `x${sub(s)}` : "";
        col.hLabel.textContent = inside ? `h${sub(s)}` : "";
        col.strips.x.paint(inside ? xs[s] : null);
        col.strips.h.paint(inside && s <= t ? hs[s] : null);
        col.g.classList.toggle("current", s === t);
        col.g.classList.toggle("future", s > t);
        col.g.dataset.step = String(s);
        col.link?.classList.toggle("carrying", s === t - 1 || s === t);
      });
    },
  };
}

const SUBS = "₀₁₂₃₄₅₆₇₈₉";
export function sub(n) {
  return String(n).split("").map((d) => SUBS[Number(d)] ?? d).join("");
}

// Figure 5: three modules, the middle one opened: [h_{t-1}, x_t] -> tanh -> h_t.
export function drawRnnModule(svg, { hidden, inputSize }) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", "0 0 1060 520");
  const m = head(svg, "rnnmod-head");
  moduleBox(svg, 20, 60, 160, 380);
  moduleBox(svg, 250, 60, 560, 380, "");
  moduleBox(svg, 880, 60, 160, 380);
  label(svg, 274, 426, "A", "module-label small", "start");
  // h_{t-1} and x_t meet at the junction (420, 330); [h_{t-1}, x_t] goes on into tanh.
  // Every line ends on what it meets: a node's rim, the layer's edge, the next module.
  const xNode = [420, 490];
  const hNode = [720, 22];
  const junction = [420, 330];
  const tanh = { x: 520, y: 246, w: 56, h: 28 };
  arrow(svg, [[180, junction[1]], junction], null);
  arrow(svg, [[xNode[0], xNode[1] - NODE_R], junction], null);
  arrow(svg, [junction, [tanh.x, junction[1]], [tanh.x, tanh.y + tanh.h / 2]], m);
  const layer = el("g", { class: "layer", id: "rnnmod-tanh" }, svg);
  el("rect", { x: tanh.x - tanh.w / 2, y: tanh.y - tanh.h / 2, width: tanh.w, height: tanh.h, rx: 3 }, layer);
  label(layer, tanh.x, tanh.y + 5, "tanh", "layer-text");
  arrow(svg, [[tanh.x, tanh.y - tanh.h / 2], [tanh.x, 150], [880, 150]], m);
  arrow(svg, [[hNode[0], 150], [hNode[0], hNode[1] + NODE_R]], m);
  node(svg, ...xNode, "x", "xₜ");
  node(svg, ...hNode, "h", "hₜ");
  const strips = {
    h_prev: createStrip(svg, { id: "rnnmod-hprev", key: "h_prev", x: 196, y: 340, anchor: "below", units: hidden, field: "h", caption: "hₜ₋₁" }),
    x: createStrip(svg, { id: "rnnmod-x", key: "x", x: 440, y: 440, anchor: "right", units: inputSize, field: "c", caption: "xₜ" }),
    pre: createStrip(svg, { id: "rnnmod-pre", key: "pre", x: 540, y: 300, anchor: "right", units: hidden, field: "c", caption: "aₜ" }),
    h: createStrip(svg, { id: "rnnmod-h", key: "h", x: 740, y: 100, anchor: "right", units: hidden, field: "h", caption: "hₜ" }),
  };
  return {
    strips,
    update({ x, hPrev, pre, h }) {
      strips.h_prev.paint(hPrev);
      strips.x.paint(x);
      strips.pre.paint(pre);
      strips.h.paint(h);
    },
  };
}
