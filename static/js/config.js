// Visual constants and colour scales in one place. Fills of the article's grammar live in
// CSS variables (static/css/app.css); everything numeric about the drawing lives here.
import d3 from "./d3.js";

export const LSTM_FIELDS = ["i", "f", "g", "o", "c", "h"];
export const GATE_FIELDS = new Set(["i", "f", "o", "r", "z"]); // sigmoids: values in [0, 1]
export const DECIMALS = 4;

// The article's symbols for PyTorch's names (its C̃ is g, its C is c).
export const SYMBOLS = {
  i: "iₜ", f: "fₜ", g: "C̃ₜ", o: "oₜ", c: "Cₜ", h: "hₜ", c_prev: "Cₜ₋₁", h_prev: "hₜ₋₁",
  x: "xₜ", tanh_c: "tanh(Cₜ)", f_c_prev: "fₜ·Cₜ₋₁", i_g: "iₜ·C̃ₜ", h_unprojected: "oₜ·tanh(Cₜ)",
  r: "rₜ", z: "zₜ", n: "nₜ", pre: "aₜ",
};

// Equations, identical in every language.
export const EQUATIONS = {
  f: "fₜ = σ(W_f·[hₜ₋₁, xₜ] + b_f)",
  i: "iₜ = σ(W_i·[hₜ₋₁, xₜ] + b_i)",
  g: "C̃ₜ = tanh(W_C·[hₜ₋₁, xₜ] + b_C)",
  o: "oₜ = σ(W_o·[hₜ₋₁, xₜ] + b_o)",
  c: "Cₜ = fₜ * Cₜ₋₁ + iₜ * C̃ₜ",
  h: "hₜ = oₜ * tanh(Cₜ)",
  tanh_c: "tanh(Cₜ)",
  f_c_prev: "fₜ * Cₜ₋₁",
  i_g: "iₜ * C̃ₜ",
  c_prev: "Cₜ₋₁",
  h_prev: "hₜ₋₁",
  x: "xₜ",
};

// Sub-steps of one timestep: the article's four focus figures, in order.
export const SUBSTEPS = ["f", "i", "c", "o"];

// Playback: one timestep at speed 1 lasts STEP_MS; each sub-step takes a quarter of the
// first STEP_MS * (1 - SLIDE_SHARE), the slide of the cell state to the next module the rest.
export const STEP_MS = 2400;
export const SLIDE_SHARE = 0.2;
export const SPEEDS = [0.25, 0.5, 1, 2, 4, 16, 64];
export const FAST_STEP_MS = 700; // below this a step plays whole, without its sub-steps

// /compare's line charts (compare/chart.js), in CSS px = viewBox units (the two match there);
// their height and text size are CSS variables (learn.css, --compare-chart-height).
export const COMPARE_CHART = {
  margin: { left: 40, right: 10, top: 8, bottom: 22 },
  keyHeight: 16, // extra room above the plot when the chart has a key
  keyGap: 14, // between one key entry and the next
  keySwatch: 16, // length of the line sample in the key
  xTickSpacing: 45, // about one x tick per this many px
  yTickSpacing: 28,
  fallback: [320, 160], // before the chart is laid out (never seen by the reader)
};

// The plain RNN's figures (static/js/learn/rnn_figures.js), in viewBox units. Arrows to and
// from a node are computed from its centre and nodeR, so they end on its rim; arrows into a
// module end on its edge. The loop leaves the module's right edge at y = out, bulges `reach`
// to the right and comes back in at y = in along a straight `lead` that carries the head.
export const RNN_FIG = {
  nodeR: 16,
  rolled: {
    viewBox: [360, 380],
    module: { x: 100, y: 120, w: 120, h: 130 },
    x: [160, 335], h: [160, 35], // node centres
    loop: { out: 200, in: 140, reach: 80, lead: 30 },
    strips: { dx: 25, xY: 300, hY: 80, loopX: 290, loopY: 175 },
  },
  unrolled: {
    height: 330, margin: 20, gapX: 150, // gapX: from one copy of A to the next
    module: { y: 110, w: 90, h: 100 },
    xY: 300, hY: 28, // node centres
    loop: { out: 170, in: 130, reach: 40, lead: 10 },
    // The "=" between the rolled module and its copies: a slot as wide as the glyph at its CSS
    // size (.equals-sign, 34 px: about 29 units in common fonts) with `gap` clear on each side.
    equals: { width: 30, gap: 14, dy: 8 },
    strips: { dx: 21, xY: 262, hY: 80 },
  },
};

// The legend (figure 7, drawNotation in learn/variants.js): five symbols with their names
// under them. Each item is as wide as its symbol or its name, whichever is wider (names are
// measured in the page's font); the spare width is shared out equally between the items, and
// the drawing widens if the names need more than `width` with `minGap` between them.
export const NOTATION = { width: 900, height: 190, margin: 20, minGap: 32, symbolY: 65, labelY: 130 };

// Vector strips: one cell per unit up to GRID_MAX units, a compact strip above.
export const STRIP = { width: 64, cell: 8, cols: 8, gridMax: 32, smallCell: 14 };

// Colour-blind-safe scales: viridis for gates in [0, 1], purple-orange (ColorBrewer PuOr,
// white at 0) for states and candidates in [-1, 1].
export const gateScale = d3.scaleSequential(d3.interpolateViridis).domain([0, 1]).clamp(true);
export const signedScale = d3.scaleDiverging(d3.interpolatePuOr).domain([-1, 0, 1]).clamp(true);

export function isGate(field) {
  return GATE_FIELDS.has(field);
}

// 256-entry lookup tables so that painting thousands of cells needs no interpolation.
function lut(scale, lo, hi) {
  const css = new Array(256);
  const rgb = new Uint8ClampedArray(256 * 3);
  for (let k = 0; k < 256; k++) {
    const c = d3.rgb(scale(lo + ((hi - lo) * k) / 255));
    css[k] = c.formatHex();
    rgb.set([c.r, c.g, c.b], k * 3);
  }
  return { css, rgb, lo, hi };
}
export const GATE_LUT = lut(gateScale, 0, 1);
export const SIGNED_LUT = lut(signedScale, -1, 1);

export function lutFor(field) {
  return isGate(field) ? GATE_LUT : SIGNED_LUT;
}

export function lutIndex(table, v) {
  const k = Math.round(((v - table.lo) / (table.hi - table.lo)) * 255);
  return k < 0 ? 0 : k > 255 ? 255 : k || 0;
}

export function colourOf(field, v) {
  const table = lutFor(field);
  return table.css[lutIndex(table, v)];
}

// Geometry of the LSTM chain (figure 6), in viewBox units (1060 x 570).
const CELL_Y = 110; // the cell-state line along the top
const BUS_Y = 410; // [h_{t-1}, x_t] runs along here into the four layers
const H_Y = 440; // h_{t-1} comes in and h_t leaves at this height
const LAYER_Y = 360; // centre of the yellow layer boxes
export const CHAIN = {
  viewBox: [1060, 570],
  cellY: CELL_Y, busY: BUS_Y, hY: H_Y, layerY: LAYER_Y,
  layerBox: [56, 28],
  modules: {
    prev: { x: 20, y: 60, w: 160, h: 430 },
    t: { x: 250, y: 60, w: 560, h: 430 },
    next: { x: 880, y: 60, w: 160, h: 430 },
  },
  layers: { f: 360, i: 450, g: 540, o: 650 }, // x of each layer's centre
  ops: {
    forget: { x: 360, y: CELL_Y, label: "×" },
    input: { x: 540, y: 240, label: "×" },
    add: { x: 540, y: CELL_Y, label: "+" },
    tanh: { x: 720, y: 200, label: "tanh" },
    output: { x: 720, y: 300, label: "×" },
  },
  opRadius: 12,
  nodes: { x: [340, 540], h: [790, 28], xPrev: [100, 540], xNext: [960, 540] },
  nodeRadius: 14,
  // Where each vector's strip sits: (x, y) and which side of the strip that point is.
  strips: {
    c_prev: { x: 276, y: CELL_Y - 8, anchor: "above" },
    f_c_prev: { x: 420, y: CELL_Y - 8, anchor: "above" },
    c: { x: 580, y: CELL_Y - 8, anchor: "above" },
    f: { x: 352, y: 230, anchor: "left" },
    i: { x: 442, y: 290, anchor: "left" },
    g: { x: 548, y: 280, anchor: "right" },
    i_g: { x: 548, y: 175, anchor: "right" },
    o: { x: 642, y: 330, anchor: "left" },
    tanh_c: { x: 712, y: 250, anchor: "left" },
    h: { x: 812, y: H_Y + 8, anchor: "below" },
    h_prev: { x: 188, y: H_Y + 8, anchor: "below" },
    x: { x: 348, y: 486, anchor: "right" },
  },
  slideDx: 330, // how far C_t and h_t travel to reach the next module
};

// The /train page (static/js/train/): its line charts share /compare's margins and key
// (COMPARE_CHART); the colours of its series (Okabe-Ito, colour-blind safe), the fields its
// heatmaps show in this order when the cell has them, and the heatmap of the gap's shade.
export const TRAIN = {
  colours: {
    loss: "#333333", train: "#E69F00", held: "#0072B2", dh: "#333333", dc: "#0072B2",
    saturation: "#009E73", rmse: "#0072B2", baseline: "#999999",
  },
  heatmapFields: ["f", "i", "o", "g", "r", "z", "n", "c", "h"],
  lossDigits: 4, // significant digits of the loss shown (the permalink test compares them)
};
