// The two experiments behind the prose: how long an input keeps its influence (the
// delayed-recall pair, figures 3-4) and the gradient flow of BPTT for an RNN and an LSTM.
import { formatNumber, t as msg } from "../i18n.js";
import { drawLines } from "./chart.js";
import { gradients, oneHot, resolveModel, sineInputs, text, trace } from "./common.js";
import { GRADIENT_FORGET_BIAS, RECALL, RECALL_FALLBACK, SECTION_MODELS } from "./models.js";
import { diffNorms, forgetProduct } from "./views.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const COLOURS = { rnn: "#d95f02", lstm: "#1b5e9e", lstmC: "#1b5e9e", fprod: "#1b9e77" };

function chartSvg(parent, id, title) {
  const box = text("figure", "learn-chart");
  box.appendChild(text("figcaption", "chart-title", title));
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.id = id;
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  box.appendChild(svg);
  parent.appendChild(box);
  return svg;
}

// [prefix..., country, gap fillers (cycled), query] as one-hot rows.
function recallSequence(index, width, spec, gap) {
  const rows = spec.prefix.map((k) => oneHot(k, width));
  rows.push(oneHot(spec.countries[index], width));
  for (let k = 0; k < gap; k++) rows.push(oneHot(spec.fillers[k % spec.fillers.length], width));
  rows.push(oneHot(spec.query, width));
  return rows;
}

const share = (v) => (v >= 0.001 ? formatNumber(v, 3) : v.toExponential(1));

function noteModels(models) {
  const one = (m) => {
    if (m.trained) return m.ref.id;
    const bias = m.info.forgetBias ? `, ${msg("learn.forget_bias_short", { b: m.info.forgetBias })}` : "";
    return `${m.info.cell} (${msg("learn.random")}, seed ${m.info.seed}${bias})`;
  };
  return models.map(one).join(" · ");
}

// Token indices of the recall sequence for this model: by name in its vocabulary, else 0..3.
function recallIndices(info) {
  const vocab = info.vocab;
  if (vocab) {
    const at = (tok) => vocab.indexOf(tok);
    const spec = {
      prefix: RECALL.prefix.map(at), countries: RECALL.countries.map(at), fillers: RECALL.fillers.map(at), query: at(RECALL.query),
    };
    if ([...spec.prefix, ...spec.countries, ...spec.fillers, spec.query].every((k) => k >= 0)) return { ...spec, names: RECALL.countries };
  }
  return { ...RECALL_FALLBACK, names: ["A", "B"] };
}

function answerAt(trace, info) {
  const probs = trace.readout?.probs;
  if (!probs) return null;
  const row = probs[probs.length - 1];
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return (info.labels ?? info.vocab)?.[best] ?? `#${best}`;
}

// Two sequences that differ only in the first token ("France" or "Japan"); the distance between
// their hidden states is what the network still knows about that token at each later step.
export async function recallExperiment(ctx, { gap }) {
  const models = await Promise.all([resolveModel(SECTION_MODELS.recallRnn), resolveModel(SECTION_MODELS.recallLstm)]);
  const g = gap ?? RECALL.gap;
  const series = [];
  const kept = [];
  const answers = [];
  for (const [k, m] of models.entries()) {
    const D = m.info.input_size;
    const spec = recallIndices(m.info);
    const [a, b] = await Promise.all([0, 1].map((i) => trace(m.ref, recallSequence(i, D, spec, g))));
    const d = diffNorms(a.layers[0].h, b.layers[0].h).slice(spec.prefix.length);
    const name = k === 0 ? "rnn" : "lstm";
    series.push({ name, values: d, colour: COLOURS[name], label: msg(`learn.series.${name}_memory`) });
    kept.push(d[0] > 0 ? d[d.length - 1] / d[0] : 0);
    const [x, y] = [answerAt(a, m.info), answerAt(b, m.info)];
    if (x !== null) answers.push(msg("learn.recall_answer", { model: m.ref.id, a: spec.names[0], x, b: spec.names[1], y }));
  }
  const box = text("div", "experiment");
  box.id = "recall-experiment";
  box.dataset.gap = String(g);
  const svg = chartSvg(box, "recall-chart", msg("learn.recall_chart", { gap: g }));
  drawLines(svg, series, { log: true, t: g + 1, yLabel: "‖h(A) − h(B)‖" });
  const summary = text("p", "experiment-summary", msg("learn.recall_summary", {
    gap: g, rnn: share(kept[0]), lstm: share(kept[1]),
  }));
  summary.id = "recall-summary";
  box.appendChild(summary);
  for (const line of answers) box.appendChild(text("p", "recall-answer", line));
  const n = models.filter((m) => m.trained).length;
  const note = n === models.length ? "learn.recall_trained_note" : n ? "learn.recall_mixed_note" : "learn.recall_random_note";
  box.appendChild(text("p", "hint", `${msg(note)} ${noteModels(models)}`));
  ctx.extra.appendChild(box);
}

// BPTT on the same sequence for an RNN and an LSTM: ‖dL/dh_t‖ from the API, and along the
// LSTM's cell line the running product of f_t that carries dL/dC back. Until trained models
// are shipped, the reader picks the random LSTM's forget-gate bias and sees what it does.
export async function gradientFlow(ctx, steps = 40) {
  const box = text("div", "experiment");
  box.id = "gradient-flow";
  box.appendChild(text("h2", "", msg("learn.gradflow_title")));
  box.appendChild(text("p", "", msg("learn.gradflow_intro", { steps })));
  const controls = text("div", "gradflow-controls");
  const out = text("div", "gradflow-out");
  box.append(controls, out);
  ctx.extra.appendChild(box);
  const trainedLstm = (await resolveModel(SECTION_MODELS.lstm)).trained;
  let bias = GRADIENT_FORGET_BIAS;
  if (!trainedLstm) {
    const label = text("label", "field inline", msg("learn.forget_bias_label"));
    const select = document.createElement("select");
    select.id = "forget-bias";
    for (const b of [0, 1, 3]) select.appendChild(new Option(`+${b}`, String(b)));
    select.value = String(bias);
    label.appendChild(select);
    controls.append(label, text("p", "hint", msg("learn.forget_bias_note")));
    select.addEventListener("change", () => {
      bias = Number(select.value);
      draw(bias).catch((err) => { out.textContent = err.message; });
    });
  }
  const draw = async (b) => {
    const models = await Promise.all([
      resolveModel(SECTION_MODELS.rnn),
      resolveModel(trainedLstm ? SECTION_MODELS.lstm : { ...SECTION_MODELS.lstm, forgetBias: b }),
    ]);
    const inputs = models.map((m) => sineInputs(steps, m.info.input_size));
    const [rnnG, lstmG, lstmT] = await Promise.all([
      gradients(models[0].ref, inputs[0]),
      gradients(models[1].ref, inputs[1]),
      trace(models[1].ref, inputs[1]),
    ]);
    const fprod = forgetProduct(lstmT.layers[0].f, 0);
    const series = [];
    if (rnnG?.h) series.push({ name: "rnn-h", values: rnnG.h, colour: COLOURS.rnn, label: msg("learn.series.rnn_dh") });
    if (lstmG?.h) series.push({ name: "lstm-h", values: lstmG.h, colour: COLOURS.lstm, label: msg("learn.series.lstm_dh") });
    if (lstmG?.c) series.push({ name: "lstm-c", values: lstmG.c, colour: COLOURS.lstmC, dash: "6 4", label: msg("learn.series.lstm_dc") });
    series.push({ name: "fprod", values: fprod, colour: COLOURS.fprod, dash: "2 3", label: msg("learn.series.fprod") });
    out.replaceChildren();
    const svg = chartSvg(out, "gradflow-chart", msg("learn.gradflow_chart"));
    drawLines(svg, series, { log: true, t: steps - 1 });
    if (!rnnG || !lstmG) {
      const miss = text("p", "hint", msg("learn.gradflow_missing"));
      miss.id = "gradflow-missing";
      out.appendChild(miss);
    } else {
      const shrink = (s) => (s[s.length - 1] > 0 ? s[0] / s[s.length - 1] : NaN);
      const summary = text("p", "experiment-summary", msg("learn.gradflow_summary", {
        steps, rnn: shrink(rnnG.h).toExponential(2), lstm: shrink(lstmG.h).toExponential(2),
      }));
      summary.id = "gradflow-summary";
      out.appendChild(summary);
    }
    out.appendChild(gradientTable(rnnG, lstmG, fprod));
    out.appendChild(text("p", "hint", noteModels(models)));
    out.dataset.forgetBias = String(b);
    // What was sent, so a test can ask the API the same question and compare.
    globalThis.gatescopeLearn = { gradientFlow: { refs: models.map((m) => m.ref), inputs, unit: 0 } };
  };
  await draw(bias);
}

function gradientTable(rnnG, lstmG, fprod) {
  const details = text("details", "values");
  details.appendChild(text("summary", "", msg("learn.gradflow_table")));
  const table = document.createElement("table");
  table.id = "gradflow-table";
  const head = table.createTHead().insertRow();
  for (const h of ["t", msg("learn.series.rnn_dh"), msg("learn.series.lstm_dh"), msg("learn.series.lstm_dc"), msg("learn.series.fprod")]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.appendChild(th);
  }
  const body = table.createTBody();
  const cols = [["rnn-h", rnnG?.h], ["lstm-h", lstmG?.h], ["lstm-c", lstmG?.c], ["fprod", fprod]];
  for (let t = 0; t < fprod.length; t++) {
    const row = body.insertRow();
    row.insertCell().textContent = String(t);
    for (const [name, values] of cols) {
      const cell = row.insertCell();
      const v = values?.[t];
      cell.textContent = Number.isFinite(v) ? v.toExponential(3) : "–";
      if (Number.isFinite(v)) cell.dataset.value = String(v);
      cell.dataset.testid = `grad-${name}-${t}`;
    }
  }
  const scroll = text("div", "table-scroll");
  scroll.appendChild(table);
  details.appendChild(scroll);
  return details;
}
