// One cell's panel on /compare: its h trajectories, its gradient flow and its prediction,
// each with the shared time cursor.
import { formatNumber, t as msg } from "../i18n.js";
import { createLineChart } from "./chart.js";
import { labelledSvg, text } from "../learn/common.js";
import { createStrip } from "../diagrams/vector_strip.js";

// The h_t strip's box in viewBox units (= CSS px, see learn.css): its width, the margin above and
// left of the strip, and the room its caption needs below it (the caption's baseline sits 13
// below the strip, vector_strip.js).
const STRIP_BOX = { width: 140, pad: 4, caption: 18 };
const UNIT_COLOURS = ["#1b5e9e", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666"];

const svg = labelledSvg;

function prediction(trace, t, vocab) {
  const r = trace.readout;
  if (!r) return msg("compare.no_readout");
  const probs = r.probs?.[t];
  if (probs && probs.length > 1) {
    let best = 0;
    for (let k = 1; k < probs.length; k++) if (probs[k] > probs[best]) best = k;
    const token = vocab?.[best] ?? `#${best}`;
    return msg("compare.predicts_token", { token: JSON.stringify(token), p: formatNumber(probs[best], 3) });
  }
  const value = r.logits?.[t]?.[0];
  return msg("compare.predicts_value", { value: formatNumber(value, 4) });
}

export function createPanel(parent, { cell, model, trace, grads }) {
  const box = text("section", "compare-panel");
  box.dataset.cell = cell;
  parent.appendChild(box); // in the page first, so the charts can measure their size and text
  box.appendChild(text("h2", "", msg(`compare.cell.${cell}`)));
  box.appendChild(text("p", "hint", model.trained ? msg("learn.model_trained", { id: model.ref.id }) : msg("compare.random_model", { hidden: model.info.hidden_size, seed: model.info.seed })));
  const layer = trace.layers[0];
  const H = trace.hidden_size;
  const shown = Math.min(H, UNIT_COLOURS.length);
  box.appendChild(text("h3", "", msg("compare.h_title")));
  const hSvg = svg(box, "chart h-chart", msg("compare.h_title"));
  const series = [];
  for (let u = 0; u < shown; u++) series.push({ name: `h${u}`, values: layer.h.map((row) => row[u]), colour: UNIT_COLOURS[u], label: `h[${u}]` });
  const hChart = createLineChart(hSvg, series, { id: `cmp-${cell}-h-chart`, key: false });
  const stripSvg = svg(box, "strip-svg", msg("compare.h_now"));
  const strip = createStrip(stripSvg, { id: `cmp-${cell}-h`, key: "h", x: STRIP_BOX.pad, y: STRIP_BOX.pad, anchor: "below", units: H, field: "h", caption: "hₜ" });
  // As tall as the strip and the caption beneath it, whatever the number of rows.
  stripSvg.setAttribute("viewBox", `0 0 ${STRIP_BOX.width} ${strip.y + strip.height + STRIP_BOX.caption}`);
  box.appendChild(text("h3", "", msg("compare.grad_title")));
  let gChart = null;
  if (grads?.h) {
    const gSvg = svg(box, "chart grad-chart", msg("compare.grad_title"));
    const gs = [{ name: "dh", values: grads.h, colour: "#333", label: "‖∂L/∂hₜ‖" }];
    if (grads.c) gs.push({ name: "dc", values: grads.c, colour: "#1b5e9e", dash: "6 4", label: "‖∂L/∂Cₜ‖" });
    gChart = createLineChart(gSvg, gs, { id: `cmp-${cell}-grad-chart`, log: true });
  } else {
    box.appendChild(text("p", "hint", msg("compare.no_gradients_short")));
  }
  const pred = text("p", "prediction");
  const readout = text("output", "panel-t");
  box.append(pred, readout);
  const vocab = model.info.labels ?? model.info.vocab;
  return {
    box,
    // Fit both charts to the size they got, once every panel is in the grid.
    layout() {
      hChart.layout();
      gChart?.layout();
    },
    setCursor(t) {
      hChart.setCursor(t);
      gChart?.setCursor(t);
      strip.paint(layer.h[t]);
      box.dataset.t = String(t);
      readout.textContent = `t = ${t} · ‖hₜ‖ = ${formatNumber(Math.hypot(...layer.h[t]), 4)}`;
      pred.textContent = prediction(trace, t, vocab);
    },
  };
}
