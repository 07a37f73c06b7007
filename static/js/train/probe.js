// One run's picture of the probe sequence at one snapshot: the explorer's heatmaps (units x
// time), the LSTM module opened at a chosen timestep (the explorer's own drawing), the gradient
// flow |dL/dh_t| and |dL/dC_t| over the probe (log scale, the gap shaded) and Karpathy's
// gate-saturation scatter. Built once per race; show() only repaints.
import { SYMBOLS, TRAIN } from "../config.js";
import { createHeatmap } from "../diagrams/heatmap.js";
import { drawChain } from "../diagrams/lstm_chain.js";
import { drawSaturation } from "../diagrams/saturation.js";
import { hideTooltip, showTooltip } from "../diagrams/tooltip.js";
import { t as msg } from "../i18n.js";
import { labelledSvg } from "../learn/common.js";
import { createChart } from "./chart.js";

const LSTMS = new Set(["lstm", "lstm_peephole", "lstm_coupled"]);
const COUNTRY = 4; // delayed recall's probe: "I grew up in France", then the gap, then "speak"

export function block(parent, tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  parent.appendChild(node);
  return node;
}

export const svgIn = labelledSvg;

// The probe steps between the fact and the query (delayed recall), or null.
export function gapSpan(task, T) {
  return task === "delayed-recall" && T > COUNTRY + 2 ? [COUNTRY + 1, T - 2] : null;
}

// The unit that holds the memory: the highest mean forget gate across the gap (the whole
// probe for other tasks); unit 0 for cells without a forget gate.
export function memoryUnit(trace, span) {
  const f = trace.f;
  if (!f?.length) return 0;
  const [a, b] = span ?? [0, f.length - 1];
  let best = 0, bestMean = -Infinity;
  for (let u = 0; u < f[0].length; u++) {
    let sum = 0;
    for (let t = a; t <= b; t++) sum += f[t][u];
    const mean = sum / (b - a + 1);
    if (mean > bestMean) { bestMean = mean; best = u; }
  }
  return best;
}

// onPick({t, unit}): a heatmap cell was clicked (that step and unit are then shown).
export function createProbe(box, { k, cell, task, hidden, onPick }) {
  const fieldsOf = (trace) => TRAIN.heatmapFields.filter((f) => trace[f]);
  block(box, "h3", "", msg("train.heatmaps_title"));
  const heatBox = block(box, "div", "train-heatmaps");
  let heatmaps = null;
  const hover = (ev, { field, t, unit, value }) => showTooltip(ev.clientX, ev.clientY, {
    title: `${SYMBOLS[field] ?? field} · ${msg(`name.${field}`)}`,
    rows: [{ label: `t = ${t}, ${msg("chain.unit")} ${unit}`, value }],
  });

  block(box, "h3", "", msg("train.module_title"));
  let chain = null;
  if (LSTMS.has(cell)) {
    const chainSvg = svgIn(box, "train-chain", msg("chain.aria"));
    chainSvg.id = `train-${k}-chain`;
    chain = drawChain(chainSvg, { hidden, inputSize: 1, prefix: `tr${k}-`, cell });
    // The snapshot carries the probe's tokens, not its input vectors: xₜ is named, not drawn.
    chain.strips.x.g.style.display = "none";
  } else {
    block(box, "p", "hint", msg("train.no_module"));
  }

  block(box, "h3", "", msg("train.flow_title"));
  const flowSeries = [{ name: "dh", colour: TRAIN.colours.dh, label: "‖∂L/∂hₜ‖" }];
  if (LSTMS.has(cell)) flowSeries.push({ name: "dc", colour: TRAIN.colours.dc, dash: "6 4", label: "‖∂L/∂Cₜ‖" });
  const flow = createChart(svgIn(box, "chart train-chart", msg("train.flow_title")), {
    id: `train-${k}-flow`, series: flowSeries, log: true, xLabel: "t",
  });
  const flowNote = block(box, "p", "hint train-flow-note");

  block(box, "h3", "", msg("train.scatter_title"));
  let scatter = null;
  if (cell === "rnn_tanh") block(box, "p", "hint", msg("train.no_gates"));
  else {
    scatter = svgIn(box, "train-scatter", msg("train.scatter_title"));
    scatter.id = `train-${k}-scatter`;
    scatter.setAttribute("viewBox", "0 0 320 220");
  }

  let shown = null;
  let at = { t: -1, unit: -1 };
  return {
    // snap: a snapshot of this run; t: the probe timestep; unit: the unit to outline.
    show(snap, t, unit) {
      const probe = snap.probe;
      const trace = probe.trace;
      const T = trace.h.length;
      const span = gapSpan(task, T);
      if (!heatmaps) {
        heatmaps = {};
        for (const f of fieldsOf(trace)) {
          heatmaps[f] = createHeatmap(heatBox, {
            id: `train-${k}-heatmap-${f}`, field: f, title: `${SYMBOLS[f] ?? f} · ${msg(`name.${f}`)}`,
            onHover: hover, onLeave: hideTooltip, onPick,
          });
        }
      }
      if (shown !== snap) {
        for (const [f, hm] of Object.entries(heatmaps)) hm.setData(trace[f]);
        const points = (values) => (values ?? []).map((v, s) => [s, v]);
        flow.setData({ dh: points(probe.dh_norm), dc: points(probe.dc_norm) }, T - 1);
        flow.setBand(span);
        const norm = probe.dc_norm ?? probe.dh_norm; // the cell state's path where there is one
        if (span && norm) {
          const ratio = norm[span[0] - 1] / norm[span[1] + 1];
          flowNote.textContent = msg("train.flow_note", { ratio: Number.isFinite(ratio) ? ratio.toExponential(1) : "–" });
        }
        if (scatter) {
          drawSaturation(scatter, { layer: trace, unit, labels: { x: msg("views.saturation_x"), y: msg("views.saturation_y") } });
        }
      }
      if (shown !== snap || at.t !== t || at.unit !== unit) {
        for (const hm of Object.values(heatmaps)) hm.setPosition(t, unit);
        flow.setMarker(t);
        if (chain) chain.update(chainView(trace, probe.tokens, t, T, unit));
        chain?.select(unit);
      }
      shown = snap;
      at = { t, unit };
    },
    layout() {
      for (const hm of Object.values(heatmaps ?? {})) hm.redraw();
      flow.layout();
    },
  };
}

function chainView(trace, tokens, t, T, unit) {
  const H = trace.h[0].length;
  const zeros = new Array(H).fill(0);
  const at = {};
  for (const [f, m] of Object.entries(trace)) at[f] = m[t];
  const tok = (s) => (s >= 0 && s < T ? tokens?.[s] ?? `t=${s}` : null);
  return {
    t, T, unit, at, x: null,
    prev: { c: t > 0 ? trace.c[t - 1] : zeros, h: t > 0 ? trace.h[t - 1] : zeros },
    tokens: { prev: tok(t - 1), cur: tok(t), next: tok(t + 1) },
  };
}
