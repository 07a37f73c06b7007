// Explorer page: wires the controls, the URL state, the API and the chain diagram.
import { fetchTrace } from "./api.js";
import { DECIMALS, FIELDS, SYMBOLS } from "./config.js";
import { drawChain, updateChain } from "./diagrams/lstm_chain.js";
import { readState, writeState } from "./state.js";

const INPUT_SIZE = 2;
const $ = (id) => document.getElementById(id);
const state = readState();
let trace = null;

// A default input: a sine and a cosine of the step, so the gates have something to react to.
function makeInputs(steps) {
  return Array.from({ length: steps }, (_, t) => [Math.sin(t / 2), Math.cos(t / 3)]);
}

function renderTable(layer, t) {
  const hidden = layer.h[0].length;
  const head = $("gate-table").tHead;
  head.replaceChildren();
  const hr = head.insertRow();
  hr.insertCell().textContent = "";
  for (let u = 0; u < hidden; u++) hr.insertCell().textContent = `unit ${u}`;
  const body = $("gate-table").tBodies[0];
  body.replaceChildren();
  for (const f of FIELDS) {
    const row = body.insertRow();
    row.insertCell().textContent = SYMBOLS[f];
    layer[f][t].forEach((v, u) => {
      const cell = row.insertCell();
      cell.textContent = v.toFixed(DECIMALS);
      cell.dataset.testid = `value-${f}-${u}`;
      cell.dataset.value = String(v);
    });
  }
}

function show(t) {
  state.t = Math.max(0, Math.min(trace.steps - 1, t));
  $("step").value = String(state.t);
  $("step-label").textContent = `t = ${state.t}`;
  const layer = trace.layers[0];
  updateChain(layer, state.t);
  renderTable(layer, state.t);
  writeState(state);
}

async function run() {
  state.hidden = Number($("hidden-size").value);
  state.steps = Number($("num-steps").value);
  state.seed = Number($("seed").value);
  const model = { cell: "lstm", input_size: INPUT_SIZE, hidden_size: state.hidden, seed: state.seed };
  $("status").textContent = "…";
  try {
    trace = await fetchTrace(model, makeInputs(state.steps));
  } catch (err) {
    $("status").textContent = err.message;
    return;
  }
  $("status").textContent = "";
  $("step").max = String(trace.steps - 1);
  drawChain($("lstm-chain"), trace.hidden_size);
  show(state.t);
  document.body.dataset.ready = "true";
}

$("hidden-size").value = String(state.hidden);
$("num-steps").value = String(state.steps);
$("seed").value = String(state.seed);
$("run").addEventListener("click", run);
$("step").addEventListener("input", (e) => show(Number(e.target.value)));
$("step-back").addEventListener("click", () => show(state.t - 1));
$("step-forward").addEventListener("click", () => show(state.t + 1));
run();
