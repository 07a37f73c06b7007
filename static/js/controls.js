// The explorer's controls: model and input fields, playback buttons, clamp form, export
// menu, tooltips on the chain and the language toggle. ctx carries the page's state and
// actions (see main.js); this module only turns user actions into calls on them.
import { features, fetchTraceFile, fetchTraceHtml } from "./api.js";
import { SPEEDS } from "./config.js";
import { hideTooltip, showTooltip } from "./diagrams/tooltip.js";
import { download, downloadCsv, downloadJson, exportPng, exportSvg } from "./export.js";
import { lang, t as tr } from "./i18n.js";
import { clampFromString, clampToString, tokenize } from "./inputs.js";
import { toQuery, writeState, writeStateNow } from "./state.js";

const $ = (id) => document.getElementById(id);

export function syncControls({ state, player }) {
  $("cell").value = state.cell;
  $("input-size").value = String(state.d);
  $("hidden-size").value = String(state.hidden);
  $("seed").value = String(state.seed);
  $("num-layers").value = String(state.layers);
  $("bidirectional").checked = state.bi === 1;
  $("gen-kind").value = state.gen === "csv" ? "sine" : state.gen;
  $("num-steps").value = String(state.steps);
  $("noise").value = String(state.noise);
  $("colour-field").value = state.field;
  const speed = $("speed");
  speed.replaceChildren(...SPEEDS.map((s) => new Option(`${s}×`, String(s))));
  speed.value = String(SPEEDS.includes(state.speed) ? state.speed : 1);
  player.setSpeed(Number(speed.value));
  const c = clampFromString(state.clamp);
  if (c) {
    $("clamp-field").value = c.field;
    $("clamp-value").value = String(c.value);
    $("clamp-units").value = c.unitsText;
    $("clamp-steps").value = c.stepsText;
    $("clamp-box").open = true;
  }
}

function onNumber({ state, markInput, run }, id, key, rerun = true) {
  $(id).addEventListener("change", () => {
    const n = Number($(id).value);
    if (!Number.isFinite(n)) return;
    state[key] = n;
    markInput();
    if (rerun) run();
  });
}

export function wireControls(ctx) {
  const { state, app, player, views, live, run, select, status, markInput, loadModelInfo, showTrace, hasVocab } = ctx;
  $("model-select").addEventListener("change", async () => {
    Object.assign(state, { model: $("model-select").value, t: 0, sub: -1, unit: 0, layer: 0 });
    Object.assign(state, { text: "", gen: "sine", csv: "", clamp: "" });
    await loadModelInfo(true);
    markInput();
    run();
  });
  // A trained model is shown: random weights are one click away (the picker's first entry).
  $("random-model").addEventListener("click", () => {
    $("model-select").value = "";
    $("model-select").dispatchEvent(new Event("change"));
  });
  $("cell").addEventListener("change", () => { state.cell = $("cell").value; markInput(); run(); });
  onNumber(ctx, "input-size", "d");
  onNumber(ctx, "hidden-size", "hidden");
  onNumber(ctx, "seed", "seed");
  onNumber(ctx, "num-layers", "layers");
  $("layer-select").addEventListener("change", () => {
    state.layer = Number($("layer-select").value);
    if (app.trace) showTrace(app.trace, app.original);
  });
  $("bidirectional").addEventListener("change", () => {
    state.bi = $("bidirectional").checked ? 1 : 0;
    markInput();
    run();
  });
  $("direction-select").addEventListener("change", () => {
    state.dir = $("direction-select").value;
    if (app.trace) showTrace(app.trace, app.original);
  });
  onNumber(ctx, "num-steps", "steps");
  onNumber(ctx, "noise", "noise");
  $("gen-kind").addEventListener("change", () => { state.gen = $("gen-kind").value; markInput(); run(); });
  $("generate").addEventListener("click", () => { state.gen = $("gen-kind").value; markInput(); run(); });
  let typing = 0;
  $("numbers-input").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.gen = "csv"; state.csv = $("numbers-input").value; markInput(); run(); }, 250);
  });
  let retrace = 0;
  $("text-input").addEventListener("input", () => {
    const text = $("text-input").value;
    const vocab = app.info?.vocab ?? app.info?.vocabulary ?? [];
    const { tokens, unknown } = tokenize(text, vocab);
    if (unknown !== undefined) {
      status(tr("input.not_in_vocab", { ch: JSON.stringify(unknown) }), true);
      return;
    }
    status("");
    markInput();
    if (state.clamp) {
      // Live steps are never clamped: with a clamp on, the whole text is traced again.
      clearTimeout(retrace);
      retrace = setTimeout(() => { state.text = text; run(); }, 250);
    } else {
      live.onTokens(tokens);
    }
  });
  $("live-typing").addEventListener("change", () => live.setEnabled(hasVocab() && features.live && $("live-typing").checked));
  $("live-typing").closest("label").hidden = !features.live;
  if (!features.clamp) {
    $("clamp-apply").disabled = true;
    $("clamp-info").textContent = tr("clamp.unavailable");
  }
  $("run").addEventListener("click", () => {
    if (hasVocab()) state.text = $("text-input").value;
    markInput();
    run();
  });
  $("colour-field").addEventListener("change", () => { state.field = $("colour-field").value; select({}); });

  $("play").addEventListener("click", () => player.toggle());
  $("step-back").addEventListener("click", () => player.step(-1));
  $("step-forward").addEventListener("click", () => player.step(1));
  $("sub-back").addEventListener("click", () => player.subStep(-1));
  $("sub-forward").addEventListener("click", () => player.subStep(1));
  $("step").addEventListener("input", (e) => player.seek(Number(e.target.value)));
  $("speed").addEventListener("change", () => { state.speed = Number($("speed").value); player.setSpeed(state.speed); writeState(state); });
  player.bindKeys(document, (d) => select({ unit: state.unit + d }));
  $("unit-input").addEventListener("change", () => {
    const u = Number($("unit-input").value);
    if (Number.isInteger(u)) select({ unit: u });
  });

  $("clamp-apply").addEventListener("click", () => {
    const c = { field: $("clamp-field").value, value: Number($("clamp-value").value), unitsText: $("clamp-units").value.trim(), stepsText: $("clamp-steps").value.trim() };
    state.clamp = clampToString(c);
    run();
  });
  $("clamp-clear").addEventListener("click", () => { state.clamp = ""; run(); });

  const base = () => `gatescope-${state.model || state.cell}-t${state.t}`;
  $("export-svg").addEventListener("click", () => exportSvg($("lstm-chain"), `${base()}.svg`));
  $("export-png").addEventListener("click", () => exportPng($("lstm-chain"), `${base()}.png`).catch((e) => status(e.message, true)));
  $("download-json").addEventListener("click", () => app.trace && downloadJson(app.trace, `${base()}.json`));
  $("download-csv").addEventListener("click", () => app.trace && downloadCsv(app.trace, `${base()}.csv`));
  $("download-safetensors").addEventListener("click", async () => {
    if (!app.request) return;
    const { model, input, clamp } = app.request;
    try {
      download(await fetchTraceFile(model, input, { clamp }), `${base()}.safetensors`);
    } catch (err) {
      status(err.message, true);
    }
  });
  $("download-html").addEventListener("click", async () => {
    if (!app.request) return;
    const { model, input, clamp } = app.request;
    try {
      download(await fetchTraceHtml(model, input, { clamp, lang }), `${base()}.html`);
    } catch (err) {
      status(err.message, true);
    }
  });
  $("copy-link").addEventListener("click", async () => {
    writeStateNow(state);
    try {
      await navigator.clipboard.writeText(window.location.href);
      status(tr("export.link_copied"));
    } catch {
      status(window.location.href);
    }
  });

  // Tooltips and unit selection on the chains: one listener for every element of each. A
  // unit under the pointer is outlined in both chains of a bidirectional model.
  const both = () => [app.chain, app.chainBack].filter(Boolean);
  for (const [svgId, chainOf] of [["lstm-chain", () => app.chain], ["lstm-chain-backward", () => app.chainBack]]) {
    const svg = $(svgId);
    svg.addEventListener("pointermove", (ev) => {
      const target = ev.target.closest?.("[data-key]");
      const unit = Number(ev.target.dataset.unit ?? -1);
      for (const chain of both()) chain.highlight(target?.dataset.key === "x" ? -1 : unit);
      const content = target && chainOf()?.describe(target.dataset.key, unit);
      if (content) showTooltip(ev.clientX, ev.clientY, content);
      else hideTooltip();
    });
    svg.addEventListener("focusin", (ev) => {
      const target = ev.target.closest?.("[data-key]");
      const content = target && chainOf()?.describe(target.dataset.key, state.unit);
      if (!content) return;
      const r = target.getBoundingClientRect();
      showTooltip(r.right, r.top, content);
    });
    svg.addEventListener("focusout", hideTooltip);
    svg.addEventListener("pointerleave", () => {
      hideTooltip();
      for (const chain of both()) chain.highlight(-1);
    });
    svg.addEventListener("click", (ev) => {
      const unit = ev.target.dataset?.unit;
      if (unit !== undefined) select({ unit: Number(unit) });
    });
  }
  // The language toggle keeps the whole state.
  $("lang-toggle").addEventListener("click", (ev) => {
    ev.preventDefault();
    const lang = document.documentElement.dataset.lang === "zh" ? "en" : "zh";
    window.location.search = `?${toQuery({ ...state, lang })}`;
  });
  let resizing = 0;
  window.addEventListener("resize", () => { cancelAnimationFrame(resizing); resizing = requestAnimationFrame(() => views.redraw()); });
}

