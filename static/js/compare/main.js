// /compare: two to five cells on the same input, one time cursor moving every panel.
// State (cells, input, length, t) lives in the URL so a comparison can be shared.
import { t as msg } from "../i18n.js";
import { $, createStepper, errorText, gradients, resolveModel, sineInputs, trace } from "../learn/common.js";
import { COMPARE_MODELS } from "../learn/models.js";
import { createPanel } from "./panel.js";

const CELLS = Object.keys(COMPARE_MODELS);

function readQuery() {
  const q = new URLSearchParams(window.location.search);
  const cells = (q.get("cells") ?? CELLS.join(",")).split(",").filter((c) => CELLS.includes(c));
  const steps = Math.max(4, Math.min(200, Number(q.get("steps")) || 30));
  const gen = ["sine", "steps", "pulse"].includes(q.get("gen")) ? q.get("gen") : "sine";
  const t = Math.max(0, Math.min(steps - 1, Math.trunc(Number(q.get("t"))) || 0));
  return { cells: cells.length >= 2 ? cells.slice(0, 5) : CELLS, steps, gen, t };
}

function writeQuery(state) {
  const q = new URLSearchParams(window.location.search);
  q.set("cells", state.cells.join(","));
  q.set("steps", String(state.steps));
  q.set("gen", state.gen);
  q.set("t", String(state.t));
  window.history.replaceState(null, "", `?${q}`);
  // The server wrote the language toggle's link for the query the page was opened with; keep
  // it on the current one, so switching language keeps the comparison and its time step.
  const toggle = $("lang-toggle");
  if (toggle) {
    q.set("lang", document.documentElement.dataset.lang === "zh" ? "en" : "zh");
    toggle.setAttribute("href", `?${q}`);
  }
}

export function makeInputs(gen, steps, width) {
  if (gen === "sine") return sineInputs(steps, width);
  const rows = [];
  for (let t = 0; t < steps; t++) {
    const v = gen === "steps" ? (Math.floor(t / 6) % 2 ? 1 : -1) : t === 1 ? 1 : 0;
    rows.push(new Array(width).fill(v));
  }
  return rows;
}

const state = readQuery();
let stepper = null;

function syncForm() {
  for (const box of document.querySelectorAll("input[name=cell]")) box.checked = state.cells.includes(box.value);
  $("compare-gen").value = state.gen;
  $("compare-steps").value = String(state.steps);
}

async function run() {
  stepper?.stop(); // a stepper still playing would keep moving the old panels and state.t
  const panelsBox = $("compare-panels");
  panelsBox.replaceChildren();
  $("compare-error").textContent = "";
  const models = await Promise.all(state.cells.map((c) => resolveModel(COMPARE_MODELS[c])));
  const results = await Promise.all(models.map(async (m) => {
    const inputs = makeInputs(state.gen, state.steps, m.info.input_size);
    const [tr_, grads] = await Promise.all([trace(m.ref, inputs), gradients(m.ref, inputs)]);
    return { model: m, inputs, trace: tr_, grads };
  }));
  const panels = results.map((r, k) => createPanel(panelsBox, { cell: state.cells[k], ...r }));
  for (const p of panels) p.layout();
  // What each panel ran, so a test can ask the API the same thing.
  globalThis.gatescopeCompare = {
    refs: Object.fromEntries(results.map((r, k) => [state.cells[k], r.model.ref])),
    inputs: Object.fromEntries(results.map((r, k) => [state.cells[k], r.inputs])),
  };
  $("compare-note").textContent = results.some((r) => !r.grads) ? msg("compare.no_gradients") : "";
  // The stepper starts at the step from the URL (building it reports that step, never 0).
  stepper = createStepper($("compare-controls"), {
    steps: state.steps,
    initial: Math.min(state.t, state.steps - 1),
    onChange: (t) => {
      state.t = t;
      for (const p of panels) p.setCursor(t);
      writeQuery(state);
    },
  });
  document.body.dataset.ready = "true";
}

$("compare-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const cells = [...document.querySelectorAll("input[name=cell]:checked")].map((b) => b.value);
  if (cells.length < 2 || cells.length > 5) {
    $("compare-error").textContent = msg("compare.pick_cells");
    return;
  }
  Object.assign(state, { cells, gen: $("compare-gen").value, steps: Math.max(4, Math.min(200, Number($("compare-steps").value) || 30)), t: 0 });
  document.body.dataset.ready = "false";
  run().catch(fail);
});

function fail(err) {
  $("compare-error").textContent = errorText(err);
  document.body.dataset.ready = "true";
}

syncForm();
run().catch(fail);
