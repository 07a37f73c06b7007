// One run's column on /train: what it is, its last loss and held-out score, its curves over the
// updates (loss; accuracy on the batch and held out, or sine's RMSE; the share of saturated
// gates), the probe views and the export buttons. The curves mark the snapshot being viewed.
import { TRAIN } from "../config.js";
import { t as msg } from "../i18n.js";
import { createChart } from "./chart.js";
import { block, createProbe, svgIn } from "./probe.js";

const C = TRAIN.colours;

export const lossText = (v) => (Number.isFinite(v) ? v.toPrecision(TRAIN.lossDigits) : "–");
const pct = (v) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–");

// The held-out figure a run is judged by: accuracy, or for sine the RMSE.
export function heldOutScore(snap) {
  return snap.held_out?.accuracy ?? snap.held_out?.rmse ?? null;
}

export function createRunPanel(parent, { k, cell, task, hidden, horizon, onExport, onPick }) {
  const box = block(parent, "section", "train-run");
  box.id = `train-run-${k}`;
  box.dataset.cell = cell;
  block(box, "h2", "", msg(`compare.cell.${cell}`));
  const stats = block(box, "p", "train-stats");
  block(stats, "span", "", `${msg("train.loss")} `);
  const loss = block(stats, "output", "train-loss");
  loss.id = `train-loss-${k}`;
  block(stats, "span", "", ` · ${msg(task === "sine" ? "train.held_rmse" : "train.held_accuracy")} `);
  const held = block(stats, "output", "train-held");
  held.id = `train-held-${k}`;
  const stopped = block(box, "p", "status error train-stopped");
  stopped.id = `train-stopped-${k}`;

  block(box, "h3", "", msg("train.loss_title"));
  const lossChart = createChart(svgIn(box, "chart train-chart", msg("train.loss_title")), {
    id: `train-${k}-loss`, series: [{ name: "loss", colour: C.loss, label: msg("train.loss") }],
  });
  const sine = task === "sine";
  block(box, "h3", "", msg(sine ? "train.rmse_title" : "train.accuracy_title"));
  const accSeries = sine
    ? [{ name: "held", colour: C.rmse, label: msg("train.held_rmse") }, { name: "base", colour: C.baseline, dash: "4 3", label: msg("train.repeat_last") }]
    : [{ name: "train", colour: C.train, label: msg("train.train_accuracy") }, { name: "held", colour: C.held, dash: "6 4", label: msg("train.held_accuracy") }];
  const accChart = createChart(svgIn(box, "chart train-chart", msg("train.accuracy_title")), {
    id: `train-${k}-acc`, series: accSeries, y: sine ? null : [0, 1],
  });
  block(box, "h3", "", msg("train.saturation_title"));
  let satChart = null;
  if (cell === "rnn_tanh") {
    const none = block(box, "p", "hint train-no-gates", msg("train.no_gates"));
    none.id = `train-${k}-no-gates`;
  } else {
    satChart = createChart(svgIn(box, "chart train-chart", msg("train.saturation_title")), {
      id: `train-${k}-saturation`, series: [{ name: "share", colour: C.saturation, label: msg("train.saturated_share") }], y: [0, 1],
    });
  }

  const probe = createProbe(box, { k, cell, task, hidden, onPick });

  const actions = block(box, "div", "train-export buttons");
  const open = block(actions, "button", "", msg("train.open_explorer"));
  open.id = `train-open-${k}`;
  open.type = "button";
  const name = block(actions, "input", "train-save-name");
  name.id = `train-save-name-${k}`;
  name.placeholder = msg("train.save_name");
  name.setAttribute("aria-label", msg("train.save_name"));
  name.maxLength = 120;
  const save = block(actions, "button", "", msg("train.save"));
  save.id = `train-save-${k}`;
  save.type = "button";
  const result = block(box, "p", "status train-export-status");
  result.id = `train-export-${k}`;
  result.setAttribute("role", "status");
  open.addEventListener("click", () => onExport(k, "session", ""));
  save.addEventListener("click", () => onExport(k, "saved", name.value));

  let drawnCount = -1;
  return {
    box,
    // snaps: every snapshot received; i: the one viewed; t, unit: the probe's step and unit.
    show(snaps, i, t, unit) {
      if (!snaps.length) return;
      const snap = snaps[Math.min(i, snaps.length - 1)];
      if (drawnCount !== snaps.length) {
        drawnCount = snaps.length;
        const series = (pick) => snaps.map((s) => [s.step, pick(s)]).filter((p) => p[1] !== null && p[1] !== undefined);
        lossChart.setData({ loss: series((s) => s.loss) }, horizon);
        accChart.setData(sine
          ? { held: series((s) => s.held_out?.rmse), base: series((s) => s.held_out?.repeat_last_rmse) }
          : { train: series((s) => s.train_accuracy), held: series((s) => s.held_out?.accuracy) }, horizon);
        satChart?.setData({ share: series((s) => s.probe.gate_saturation) }, horizon);
      }
      for (const chart of [lossChart, accChart, satChart]) chart?.setMarker(snap.step);
      loss.textContent = lossText(snap.loss);
      loss.dataset.step = String(snap.step);
      held.textContent = sine ? lossText(snap.held_out?.rmse) : pct(snap.held_out?.accuracy);
      held.dataset.value = String(heldOutScore(snap));
      probe.show(snap, Math.min(t, snap.probe.trace.h.length - 1), unit);
    },
    setStopped(text) {
      stopped.textContent = text ?? "";
    },
    setExportable(on) {
      open.disabled = !on;
      save.disabled = !on;
    },
    setResult(node) {
      result.replaceChildren(...(typeof node === "string" ? [node] : [node]));
    },
  };
}
