// One renderer per section of /learn: each draws its figure, runs it on a model through the
// API and wires the time stepper. ctx: {body, controls, extra, note}.
import { drawChain } from "../diagrams/lstm_chain.js";
import { drawLegends } from "../diagrams/legend.js";
import { t as msg } from "../i18n.js";
import { createStepper, resolveModel, sineInputs, text, trace } from "./common.js";
import { gradientFlow, recallExperiment } from "./experiments.js";
import { SECTION_MODELS } from "./models.js";
import { drawRnnModule, drawRolled, drawUnrolled } from "./rnn_figures.js";
import { wireChainTooltip, wireStripTooltip } from "./tooltip_wiring.js";
import { CELL_LINE, GATE_PART, addCoupling, addPeepholes, drawGru, drawNotation, lightOnly } from "./variants.js";
import { chainView, hPrev } from "./views.js";
import { numbersTable } from "./numbers.js";
import { renderTex } from "./common.js";
import { TEX } from "./equations.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const STEPS = 16;

// Each figure sits in its own frame: on a phone the drawing keeps a minimum width (learn.css)
// and scrolls inside the frame, never the page, like the explorer's chain.
function svgIn(parent, id, cls = "learn-svg") {
  const frame = document.createElement("div");
  frame.className = "figure-scroll";
  frame.id = `${id}-scroll`;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.id = id;
  svg.setAttribute("class", cls);
  svg.setAttribute("role", "img");
  frame.appendChild(svg);
  parent.appendChild(frame);
  return svg;
}

// Called once the figure is drawn: tells the frame how wide the drawing is (viewBox units; on a
// phone every figure then keeps one legible scale, learn.css) and, with centre, scrolls the
// frame so that its middle (the opened module) is in view.
function fitFrame(svg, { centre = false } = {}) {
  const frame = svg.parentElement;
  const width = svg.viewBox.baseVal?.width;
  if (width) frame.style.setProperty("--figure-units", String(width));
  if (centre) frame.scrollLeft = (frame.scrollWidth - frame.clientWidth) / 2;
}

// Runs the section's model on a sine input; tells the reader which model it is.
async function run(entry, ctx, steps = STEPS) {
  const model = await resolveModel(entry);
  const inputs = sineInputs(steps, model.info.input_size);
  const tr_ = await trace(model.ref, inputs);
  noteModel(ctx, model);
  return { model, inputs, trace: tr_ };
}

export function noteModel(ctx, model) {
  ctx.note.textContent = model.trained
    ? msg("learn.model_trained", { id: model.ref.id })
    : msg("learn.model_random", { cell: model.info.cell, hidden: model.info.hidden_size, seed: model.info.seed });
}

const RNN_EQ = { pre: "aₜ = W_hh·hₜ₋₁ + W_xh·xₜ + b", h: "hₜ = tanh(aₜ)", h_prev: "hₜ₋₁", x: "xₜ" };
const RNN_SYM = { pre: "aₜ", h: "hₜ", h_prev: "hₜ₋₁", x: "xₜ", loop: "hₜ₋₁" };
const GRU_EQ = {
  r: "rₜ = σ(W_ir·xₜ + b_ir + W_hr·hₜ₋₁ + b_hr)", z: "zₜ = σ(W_iz·xₜ + b_iz + W_hz·hₜ₋₁ + b_hz)",
  n: "nₜ = tanh(W_in·xₜ + b_in + rₜ*(W_hn·hₜ₋₁ + b_hn))", h: "hₜ = (1 − zₜ)*nₜ + zₜ*hₜ₋₁",
  zh: "zₜ*hₜ₋₁", zn: "(1 − zₜ)*nₜ",
};
const GRU_SYM = { r: "rₜ", z: "zₜ", n: "nₜ", h: "hₜ", h_prev: "hₜ₋₁", x: "xₜ", zh: "zₜ⊙hₜ₋₁", zn: "(1−zₜ)⊙nₜ" };

function rnnView(tr_, inputs, t) {
  const layer = tr_.layers[0];
  return { x: inputs[t], h: layer.h[t], hPrev: hPrev(tr_, t), pre: layer.pre?.[t] ?? layer.h[t] };
}

async function rolled(ctx) {
  const { inputs, trace: tr_ } = await run(SECTION_MODELS.rnn, ctx);
  const svg = svgIn(ctx.body, "fig-rolled", "learn-svg narrow");
  const fig = drawRolled(svg, { hidden: tr_.hidden_size, inputSize: tr_.input_size });
  let v = null;
  wireStripTooltip(svg, () => v && { x: v.x, h: v.h, h_prev: v.hPrev }, RNN_EQ, RNN_SYM);
  createStepper(ctx.controls, { steps: tr_.steps, autoplay: true, onChange: (t) => fig.update((v = rnnView(tr_, inputs, t))) });
}

async function unrolled(ctx, { marks = null, rolledToo = true } = {}) {
  const { inputs, trace: tr_ } = await run(SECTION_MODELS.rnn, ctx);
  const n = 6;
  const svg = svgIn(ctx.body, "fig-unrolled");
  const fig = drawUnrolled(svg, { hidden: tr_.hidden_size, inputSize: tr_.input_size, n, rolled: rolledToo, marks });
  fitFrame(svg);
  const hs = tr_.layers[0].h;
  createStepper(ctx.controls, {
    steps: tr_.steps, autoplay: !marks,
    onChange: (t) => fig.update({ xs: inputs, hs, t, start: marks ? 0 : Math.max(0, Math.min(t - 3, tr_.steps - n)) }),
  });
}

async function rnnModule(ctx) {
  const { inputs, trace: tr_ } = await run(SECTION_MODELS.rnn, ctx);
  const svg = svgIn(ctx.body, "fig-rnn-module");
  const fig = drawRnnModule(svg, { hidden: tr_.hidden_size, inputSize: tr_.input_size });
  fitFrame(svg, { centre: true });
  let v = null;
  wireStripTooltip(svg, () => v && { x: v.x, h: v.h, h_prev: v.hPrev, pre: v.pre }, RNN_EQ, RNN_SYM);
  createStepper(ctx.controls, { steps: tr_.steps, onChange: (t) => fig.update((v = rnnView(tr_, inputs, t))) });
  return { inputs, trace: tr_ };
}

// Each new step walks the four focus figures in order (f, i, C, o), then shows the whole step.
const WALK = ["f", "i", "c", "o", ""];
const WALK_MS = 420;
const reducedMotion = () => window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;

async function chainSection(ctx, { focus = "", only = null, entry = SECTION_MODELS.lstm, table = null, autoplay = false, walk = false }) {
  const { inputs, trace: tr_ } = await run(entry, ctx);
  const svg = svgIn(ctx.body, "fig-chain");
  svg.setAttribute("aria-label", msg("chain.aria"));
  const chain = drawChain(svg, { hidden: tr_.hidden_size, inputSize: tr_.input_size, prefix: "lc-" });
  fitFrame(svg, { centre: true });
  wireChainTooltip(chain);
  const tableBox = table ? text("div", "numbers") : null;
  if (tableBox) ctx.extra.appendChild(tableBox);
  let timers = [];
  const walkFocus = () => {
    timers.forEach(clearTimeout);
    timers = reducedMotion() ? [] : WALK.map((name, k) => setTimeout(() => chain.setFocus(name), k * WALK_MS));
  };
  createStepper(ctx.controls, {
    steps: tr_.steps, autoplay, interval: walk ? WALK.length * WALK_MS + 300 : 900,
    onChange: (t) => {
      const v = chainView(tr_, inputs, t);
      chain.update(v);
      if (only) lightOnly(chain, "lc-", only);
      else if (walk) walkFocus();
      else chain.setFocus(focus);
      if (tableBox) numbersTable(tableBox, table(v));
    },
  });
  return chain;
}

const col = (label, values) => ({ label, values });
const TABLES = {
  gate: (v) => [col("Cₜ₋₁", v.prev.c), col("fₜ", v.at.f), col("fₜ·Cₜ₋₁", v.at.f_c_prev)],
  f: (v) => [col("fₜ", v.at.f), col("Cₜ₋₁", v.prev.c), col("fₜ·Cₜ₋₁", v.at.f_c_prev)],
  i: (v) => [col("iₜ", v.at.i), col("C̃ₜ", v.at.g), col("iₜ·C̃ₜ", v.at.i_g)],
  c: (v) => [col("fₜ·Cₜ₋₁", v.at.f_c_prev), col("iₜ·C̃ₜ", v.at.i_g), col("Cₜ", v.at.c)],
  o: (v) => [col("oₜ", v.at.o), col("tanh(Cₜ)", v.at.tanh_c), col("hₜ", v.at.h)],
};

async function notation(ctx) {
  const svg = svgIn(ctx.body, "fig-notation");
  drawNotation(svg, [0, 1, 2, 3, 4].map((k) => msg(`learn.notation.${k}`)));
  fitFrame(svg);
  const legends = text("div", "legends");
  ctx.extra.appendChild(legends);
  drawLegends(legends, { gateTitle: msg("learn.legend_gate"), signedTitle: msg("learn.legend_signed") });
  ctx.note.textContent = msg("learn.notation_note");
}

async function variants(ctx) {
  const parts = [
    ["peephole", SECTION_MODELS.peephole],
    ["coupled", SECTION_MODELS.coupled],
    ["gru", SECTION_MODELS.gru],
  ];
  const runs = await Promise.all(parts.map(([, entry]) => run(entry, { note: text("span") })));
  const painters = [];
  parts.forEach(([name], k) => {
    const { inputs, trace: tr_ } = runs[k];
    const box = text("section", "variant");
    box.id = `variant-${name}`;
    box.appendChild(text("h2", "", msg(`learn.variant.${name}.title`)));
    box.appendChild(text("p", "", msg(`learn.variant.${name}.body`)));
    const eq = text("div", "equation-block");
    for (const tex of TEX[`variant-${name}`]) eq.appendChild(renderTex(text("div", "tex"), tex));
    box.appendChild(eq);
    ctx.body.appendChild(box);
    const svg = svgIn(box, `fig-${name}`);
    if (name === "gru") {
      const fig = drawGru(svg, { hidden: tr_.hidden_size, inputSize: tr_.input_size });
      wireStripTooltip(svg, () => fig.values, GRU_EQ, GRU_SYM);
      painters.push((t) => fig.update({ at: chainView(tr_, inputs, t).at, hPrev: hPrev(tr_, t), x: inputs[t] }));
    } else {
      const prefix = `${name}-`;
      const chain = drawChain(svg, { hidden: tr_.hidden_size, inputSize: tr_.input_size, prefix });
      wireChainTooltip(chain);
      if (name === "peephole") addPeepholes(chain);
      else addCoupling(chain, prefix);
      painters.push((t) => chain.update(chainView(tr_, inputs, t)));
    }
    fitFrame(svg, { centre: true });
  });
  const trained = runs.filter((r) => r.model.trained).length;
  const note = trained === runs.length ? "learn.variants_all_trained" : trained ? "learn.variants_trained" : "learn.variants_random";
  ctx.note.textContent = msg(note, { n: trained });
  const steps = Math.min(...runs.map((r) => r.trace.steps));
  globalThis.gatescopeLearn = { variants: Object.fromEntries(parts.map(([name], k) => [name, { ref: runs[k].model.ref, inputs: runs[k].inputs }])) };
  createStepper(ctx.controls, { steps, onChange: (t) => painters.forEach((p) => p(t)) });
}

export const SECTIONS = {
  "rnn-rolled": rolled,
  "rnn-unrolled": (ctx) => unrolled(ctx),
  "simple-rnn-bptt": async (ctx) => {
    await rnnModule(ctx);
    await gradientFlow(ctx);
  },
  "short-term": async (ctx) => {
    await unrolled(ctx, { marks: { inputs: [0, 1], output: 3 }, rolledToo: false });
    await recallExperiment(ctx, { gap: 2 });
  },
  "long-term": async (ctx) => {
    await unrolled(ctx, { marks: { inputs: [0, 1], output: 5 }, rolledToo: false });
    await recallExperiment(ctx, { gap: null });
  },
  "simple-rnn-module": rnnModule,
  "lstm-chain": (ctx) => chainSection(ctx, { autoplay: true, walk: true }),
  notation,
  "cell-state": (ctx) => chainSection(ctx, { only: CELL_LINE, table: TABLES.c }),
  gate: (ctx) => chainSection(ctx, { only: GATE_PART, table: TABLES.gate }),
  "focus-f": (ctx) => chainSection(ctx, { focus: "f", table: TABLES.f }),
  "focus-i": (ctx) => chainSection(ctx, { focus: "i", table: TABLES.i }),
  "focus-c": (ctx) => chainSection(ctx, { focus: "c", table: TABLES.c }),
  "focus-o": (ctx) => chainSection(ctx, { focus: "o", table: TABLES.o }),
  variants,
};
