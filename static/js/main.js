// Explorer page: wires the state (kept in the URL), the API, the player and the views.
import { features, fetchModel, fetchModels, fetchTrace } from "./api.js";
import { EQUATIONS, LSTM_FIELDS, SUBSTEPS } from "./config.js";
import { drawLegends } from "./diagrams/legend.js";
import { drawChain } from "./diagrams/lstm_chain.js";
import { renderMath } from "./diagrams/tooltip.js";
import { lang, modelName, t as tr } from "./i18n.js";
import { InputError, clampFromString, generate, parseIndexList, parseNumbers, toCsv } from "./inputs.js";
import { syncControls, wireControls } from "./controls.js";
import { bidirectional, layerFields } from "./directions.js";
import { bareLink, firstVisitState, isFirstVisit, middleStep, rememberVisit } from "./first_visit.js";
import { createLiveTyping } from "./live.js";
import { showNamedUnits } from "./named_units.js";
import { createPlayer } from "./player.js";
import { readState, writeState } from "./state.js";
import { stepView } from "./step_view.js";
import { createTour, tourDismissed } from "./tour.js";
import { createViews, renderTable } from "./views.js";

const $ = (id) => document.getElementById(id);
const state = readState();
const app = { trace: null, request: null, original: null, layer: null, layers: {}, chain: null, chainBack: null, chainKey: "", inputs: null, info: null, abort: null };
const FOCUS_TITLES = { f: "focus.f", i: "focus.i", c: "focus.c", o: "focus.o", slide: "focus.slide" };
const FOCUS_EQUATIONS = {
  f: EQUATIONS.f, i: `${EQUATIONS.i}   ${EQUATIONS.g}`, c: EQUATIONS.c, o: `${EQUATIONS.o}   ${EQUATIONS.h}`,
  slide: "Cₜ, hₜ → t + 1",
};

const status = (msg = "", isError = false) => {
  $("status").textContent = msg;
  $("status").classList.toggle("error", isError);
};
const errorText = (err) => (err instanceof InputError ? tr(err.key, err.vars) : err.message);
const isLstm = (cell) => String(cell).startsWith("lstm");
// The chains drawn: the forward one, and for a bidirectional LSTM the backward one below it.
const chains = () => [app.chain, app.chainBack].filter(Boolean);

function render(pos) {
  state.t = pos.t;
  state.sub = pos.sub;
  if (!app.layer) return;
  if (pos.stepChanged || app.shownT !== pos.t) paintStep(pos.t, pos.playing);
  for (const chain of chains()) {
    chain.setFocus(pos.focus);
    if (pos.slide >= 0) chain.setSlide(pos.slide);
  }
  // Text below the figure changes with the focus only: during fast playback most frames
  // change the step alone, and rewriting text would cost a layout each time.
  if (app.shownFocus !== `${pos.focus}:${pos.sub}`) {
    app.shownFocus = `${pos.focus}:${pos.sub}`;
    const key = FOCUS_TITLES[pos.focus];
    $("focus-title").textContent = key ? tr(key) : tr("focus.all");
    $("focus-text").textContent = tr(`${key ?? "focus.all"}_text`);
    renderMath($("focus-equation"), FOCUS_EQUATIONS[pos.focus] ?? "");
    $("substep-label").textContent = pos.sub >= 0 ? `${pos.sub + 1}/4 · ${tr(`substep.${SUBSTEPS[pos.sub]}`)}` : "";
    $("diagram").dataset.sub = String(pos.sub);
  }
  writeState(state);
}

function paintStep(t, playing = false) {
  app.shownT = t;
  // While playing, the slider and the label follow at most ten times a second.
  const now = performance.now();
  if (!playing || now - (app.labelAt ?? 0) > 100) {
    app.labelAt = now;
    $("step").value = String(t);
    $("step-label").textContent = `t = ${t}`;
  }
  app.chain?.update(stepView(app, state, t, "forward"));
  app.chainBack?.update(stepView(app, state, t, "backward"));
  views.setPosition({ t, unit: state.unit, field: state.field });
  // A wide table each frame would cost more than the whole diagram: refresh it when paused.
  if (!playing || app.trace.hidden_size <= 32) renderTable($("gate-table"), app.layer, t, state.unit, tableFields());
}

const tableFields = () => (isLstm(app.trace.cell) ? LSTM_FIELDS : Object.keys(app.layer));

function select({ t, unit }) {
  if (unit !== undefined) state.unit = Math.max(0, Math.min(app.trace.hidden_size - 1, unit));
  for (const chain of chains()) chain.select(state.unit);
  $("unit-input").value = String(state.unit);
  if (t !== undefined) player.seek(t);
  else {
    paintStep(state.t, false);
    writeState(state);
  }
}

const views = createViews({ onPick: select });
const player = createPlayer({
  onChange: render,
  onPlayingChange: (on) => {
    const b = $("play");
    b.textContent = on ? "❚❚" : "▶";
    b.setAttribute("aria-label", on ? b.dataset.labelPause : b.dataset.labelPlay);
    b.setAttribute("aria-pressed", String(on));
    document.body.dataset.playing = String(on);
    if (!on) paintStep(state.t);
  },
});

// ---- a new trace -------------------------------------------------------------------------
function showTrace(trace, original = null) {
  app.trace = trace;
  app.original = original;
  state.layer = Math.min(state.layer, trace.num_layers - 1);
  const both = bidirectional(trace);
  if (!both) state.dir = "forward";
  app.layers = { forward: layerFields(trace, state.layer, "forward") };
  if (both) app.layers.backward = layerFields(trace, state.layer, "backward");
  app.layer = app.layers[state.dir];
  $("direction-field").hidden = !both;
  $("direction-select").value = state.dir;
  $("diagram").dataset.directions = both ? "2" : "1";
  const layerSelect = $("layer-select");
  if (layerSelect.options.length !== trace.num_layers) {
    layerSelect.replaceChildren(...trace.layers.map((_, l) => new Option(`${l}`, String(l))));
  }
  layerSelect.value = String(state.layer);
  $("layer-field").hidden = trace.num_layers < 2;
  state.unit = Math.min(state.unit, trace.hidden_size - 1);
  const proj = trace.proj_size || 0; // an LSTM with a projection: h = W_hr (o * tanh(C))
  const D = state.layer === 0 ? trace.input_size : (proj || trace.hidden_size) * (both ? 2 : 1);
  const chainKey = `${trace.cell}:${trace.hidden_size}:${D}:${both}:${proj}`;
  const lstm = isLstm(trace.cell);
  $("diagram").hidden = !lstm;
  // (an SVG element has no .hidden property: the attribute itself)
  for (const id of ["lstm-chain-backward", "chain-label-forward", "chain-label-backward", "direction-note"]) $(id).toggleAttribute("hidden", !both);
  if (!lstm) {
    app.chain = null;
    app.chainBack = null;
    app.chainKey = "";
    status(tr("chain.only_lstm", { cell: trace.cell }));
  } else if (chainKey !== app.chainKey) {
    const sizes = { hidden: trace.hidden_size, inputSize: D, cell: trace.cell, proj };
    app.chain = drawChain($("lstm-chain"), sizes);
    app.chainBack = both ? drawChain($("lstm-chain-backward"), { ...sizes, prefix: "bw-", mirror: true }) : null;
    if (!both) $("lstm-chain-backward").replaceChildren();
    app.chainKey = chainKey;
    const frame = $("diagram-scroll");
    frame.scrollLeft = (frame.scrollWidth - frame.clientWidth) / 2;
  }
  for (const chain of chains()) chain.select(state.unit);
  $("unit-input").max = String(trace.hidden_size - 1);
  $("unit-input").value = String(state.unit);
  $("step").max = String(trace.steps - 1);
  const gates = lstm ? ["f", "i", "g", "o"] : ["r", "z", "n"].filter((f) => app.layer[f]);
  const clampField = $("clamp-field");
  if ([...clampField.options].map((o) => o.value).join() !== gates.join()) {
    clampField.replaceChildren(...gates.map((f) => new Option(`${f} (${f === "g" || f === "n" ? "tanh" : "σ"})`, f)));
  }
  $("clamp-box").hidden = gates.length === 0 || Boolean(app.embedded);
  state.t = Math.min(state.t, trace.steps - 1);
  views.setTrace(app.layer, original ? layerFields(original, state.layer, state.dir) : null, trace.tokens ?? null,
    { t: state.t, unit: state.unit, field: state.field }, both ? app.layers : null);
  app.shownT = -1;
  player.load(trace.steps, { t: state.t, sub: state.sub });
  document.body.dataset.ready = "true";
  document.body.dataset.steps = String(trace.steps);
  requestAnimationFrame(() => {
    performance.mark("gs-drawn");
    if (performance.getEntriesByName("gs-input").length) {
      window.gatescope.latency = performance.measure("gs-latency", "gs-input", "gs-drawn").duration;
      performance.clearMarks("gs-input");
    }
  });
}

function modelRef() {
  if (state.model) return { id: state.model };
  const ref = { cell: state.cell, input_size: state.d, hidden_size: state.hidden, num_layers: state.layers, seed: state.seed };
  return state.bi === 1 ? { ...ref, bidirectional: true } : ref;
}

const hasVocab = () => Boolean(app.info?.vocab?.length || app.info?.vocabulary?.length);

function currentInput() {
  if (hasVocab()) {
    app.inputs = null;
    return { text: state.text || defaultText() };
  }
  if (state.gen === "example" && Array.isArray(app.info?.example)) {
    app.inputs = app.info.example.map((row) => (Array.isArray(row) ? row : [row]));
  } else if (state.gen === "csv") {
    const width = state.model ? app.info?.input_size : null;
    app.inputs = parseNumbers(state.csv, width);
    if (!state.model) state.d = app.inputs[0].length;
  } else {
    const width = state.model ? app.info?.input_size ?? 1 : state.d;
    app.inputs = generate(state.gen, state.steps, width, state.noise, state.seed);
  }
  return { inputs: app.inputs };
}

function defaultText() {
  const vocab = app.info.vocab ?? app.info.vocabulary;
  const example = app.info.example ?? app.info.sample_text;
  return typeof example === "string" ? example : vocab.slice(0, 16).join("");
}

function clampList() {
  const c = clampFromString(state.clamp);
  if (!c || !features.clamp) return null;
  const H = state.model ? app.info?.hidden_size ?? Infinity : state.hidden;
  const T = app.inputs?.length ?? (state.text || "").length ?? Infinity;
  return [{
    field: c.field, value: c.value, layer: state.layer,
    ...(state.dir === "backward" ? { direction: "backward" } : {}),
    units: parseIndexList(c.unitsText, H, tr("clamp.units")),
    steps: parseIndexList(c.stepsText, T || Infinity, tr("clamp.steps")),
  }];
}

export async function run() {
  app.abort?.abort();
  const abort = new AbortController();
  app.abort = abort;
  status(tr("status.running"));
  try {
    const input = currentInput();
    if (app.inputs && !hasVocab()) $("numbers-input").value = toCsv(app.inputs);
    const clamp = clampList();
    const model = modelRef();
    const [trace, original] = await Promise.all([
      fetchTrace(model, input, { clamp, signal: abort.signal }),
      clamp ? fetchTrace(model, input, { signal: abort.signal }) : null,
    ]);
    if (abort.signal.aborted) return;
    if (trace.tokens) app.inputs = null;
    app.request = { model, input, clamp };
    app.clamp = clamp?.[0] ?? null;
    status("");
    $("clamp-info").textContent = clamp ? tr("clamp.active", { field: clamp[0].field, value: clamp[0].value }) : "";
    showTrace(trace, original);
  } catch (err) {
    if (err.name === "AbortError") return;
    status(errorText(err), true);
    document.body.dataset.ready = "error";
  }
}

// ---- controls ---------------------------------------------------------------------------
function markInput() {
  performance.clearMarks("gs-input");
  performance.mark("gs-input");
}

// fresh: the reader just picked this model, so its defaults win over what the link said.
async function loadModelInfo(fresh = false) {
  const linked = fresh ? new URLSearchParams() : new URLSearchParams(window.location.search);
  app.info = null;
  if (state.model) {
    try {
      app.info = await fetchModel(state.model);
    } catch (err) {
      status(errorText(err), true);
    }
  }
  const vocab = hasVocab();
  $("random-fields").hidden = Boolean(state.model);
  $("random-model").hidden = !state.model;
  $("text-editor").hidden = !vocab;
  $("number-editor").hidden = vocab;
  const info = app.info;
  $("model-info").textContent = info
    ? [modelName(info), info.cell, `D=${info.input_size} H=${info.hidden_size} L=${info.num_layers ?? 1}`,
      (info.num_directions ?? 1) === 2 ? tr("model.bidirectional") : "",
      info.description?.[lang] ?? ""].filter(Boolean).join(" · ")
    : tr("model.random_info");
  if (vocab) $("text-input").value = state.text || defaultText();
  const words = vocab && (info.vocab ?? info.vocabulary).some((tok) => tok.length > 1);
  $("text-input-label").textContent = tr(words ? "input.text_words" : "input.text");
  // A stored numeric model may ship an example input (its task's sequence): it is the
  // default input, kept in the link as gen=example rather than as numbers.
  const hasExample = !vocab && Array.isArray(info?.example) && info.example.length > 0;
  $("gen-example").hidden = !hasExample;
  $("gen-example").disabled = !hasExample;
  if (hasExample && state.gen === "sine" && !linked.has("gen")) {
    state.gen = "example";
  }
  if (!hasExample && state.gen === "example") state.gen = "sine";
  $("gen-kind").value = state.gen === "csv" ? "sine" : state.gen;
  showNamedUnits(info, linked, { state, app, select, showTrace });
  live.setEnabled(vocab && features.live && $("live-typing").checked);
}

const live = createLiveTyping({
  model: () => modelRef(),
  onTrace: (trace) => {
    // Step answers carry the fields; the sizes come from the model's description.
    trace.cell ??= app.info?.cell;
    trace.input_size ??= app.info?.input_size;
    state.text = $("text-input").value;
    state.t = trace.steps - 1;
    showTrace(trace);
  },
  onFallback: () => { state.text = $("text-input").value; run(); },
  onError: (err) => status(errorText(err), true),
});

// A saved page (app/web/standalone.py) carries its trace: no server, so only what needs none.
function startEmbedded(trace) {
  app.embedded = true;
  for (const id of ["random-fields", "clamp-box", "download-safetensors", "download-html", "copy-link", "lang-toggle"]) {
    const el = $(id);
    if (el) el.hidden = true;
  }
  $("model-select").closest("label").hidden = true;
  $("number-editor").closest("details").hidden = true;
  app.info = { cell: trace.cell, input_size: trace.input_size, hidden_size: trace.hidden_size, num_layers: trace.num_layers, num_directions: trace.num_directions ?? 1 };
  app.inputs = trace.inputs ?? null;
  $("model-info").textContent = [trace.title, trace.cell, `D=${trace.input_size} H=${trace.hidden_size} L=${trace.num_layers}`,
    (trace.num_directions ?? 1) === 2 ? tr("model.bidirectional") : ""].filter(Boolean).join(" · ");
  app.request = null;
  showTrace(trace);
}

async function start() {
  const bare = bareLink(); // read before the page writes its state into the link
  const first = isFirstVisit();
  rememberVisit();
  const tour = createTour();
  window.gatescope = { state, player, app, run, tour };
  const ctx = { state, app, player, views, live, run, select, status, markInput, loadModelInfo, showTrace, hasVocab };
  syncControls(ctx);
  drawLegends($("legends"), { gateTitle: tr("legend.gate"), signedTitle: tr("legend.signed") });
  wireControls(ctx);
  const embedded = $("gatescope-trace");
  if (embedded) {
    startEmbedded(JSON.parse(embedded.textContent));
    return;
  }
  try {
    const models = await fetchModels();
    const select = $("model-select");
    // Built-in models first, then uploads, each under its own heading.
    for (const source of ["builtin", "upload"]) {
      const group = document.createElement("optgroup");
      group.label = tr(`model.source_${source}`);
      for (const m of models.filter((x) => (x.source ?? "builtin") === source)) {
        group.appendChild(new Option(`${modelName(m)} (${m.cell}, H=${m.hidden_size})`, m.id));
      }
      if (group.children.length) select.appendChild(group);
    }
    const opening = first ? firstVisitState(models) : null;
    if (opening) Object.assign(state, opening);
    app.firstVisit = Boolean(opening);
    if (state.model && !models.some((m) => m.id === state.model)) {
      select.appendChild(new Option(state.model, state.model));
    }
    select.value = state.model;
  } catch (err) {
    status(errorText(err), true);
  }
  await loadModelInfo();
  if (app.firstVisit) state.t = middleStep($("text-input").value, app.info?.vocab ?? app.info?.vocabulary);
  if (state.gen === "csv") $("numbers-input").value = state.csv;
  await run();
  $("tour-start").addEventListener("click", () => tour.start());
  // The tour opens by itself on a bare link until it is skipped or finished once.
  if (bare && !tourDismissed() && document.body.dataset.ready === "true") tour.start();
}

start();
