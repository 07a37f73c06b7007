// Shared by the Learn, Compare and Models pages: model resolution, inputs, API calls beyond
// the explorer's api.js (gradients), a small stepper and KaTeX rendering.
import { t as msg } from "../i18n.js";
import { seededRandom } from "../inputs.js";
import { postTrace } from "../trace_wire.js";
import "../../vendor/katex/katex.min.js";

const katex = globalThis.katex;
export const $ = (id) => document.getElementById(id);

// The explorer's api.js uses paths relative to the page, which is right at the app root only;
// /learn/<section> sits one level deeper, so these pages build API paths from the root.
export const ROOT = document.querySelector("[data-root]")?.dataset.root ?? "/";
export const apiPath = (path) => `${ROOT}api/v1/${path}`;
// Which optional API parts this server has (the page is told by the server, see learn.py).
const flags = document.querySelector("[data-root]")?.dataset ?? {};
export const features = {
  models: flags.apiModels === "true",
  upload: flags.apiUpload === "true",
  gradients: flags.apiGradients === "true",
};

async function request(path, options = {}) {
  const res = await fetch(apiPath(path), options);
  const data = (res.headers.get("content-type") || "").includes("json") ? await res.json() : null;
  if (!res.ok) {
    const err = new Error(data?.message || data?.detail?.[0]?.msg || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

const postJson = (path, body) => request(path, {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
});

export async function fetchModels() {
  if (!features.models) return [];
  try {
    const data = await request("models");
    return Array.isArray(data) ? data : data?.models ?? [];
  } catch (err) {
    if (err.status === 404 || err.status === 405) return [];
    throw err;
  }
}

export const fetchModel = (id) => request(`models/${encodeURIComponent(id)}`);

let listing = null;
export function modelList() {
  listing ??= fetchModels().catch(() => []);
  return listing;
}

// PyTorch's default initialisation, U(-1/sqrt(H), 1/sqrt(H)), from a seeded generator, with an
// optional constant added to the forget gate's bias (rows H..2H of bias_ih, gate order i f g o).
export function inlineWeights({ cell, input_size: D, hidden_size: H, seed = 0 }, forgetBias = 0) {
  const rows = { lstm: 4, gru: 3, rnn_tanh: 1 }[cell] * H;
  const rand = seededRandom(seed + 1);
  const k = 1 / Math.sqrt(H);
  const u = () => +((rand() * 2 - 1) * k).toFixed(6);
  const matrix = (r, c) => Array.from({ length: r }, () => Array.from({ length: c }, u));
  const weights = {
    weight_ih_l0: matrix(rows, D), weight_hh_l0: matrix(rows, H),
    bias_ih_l0: Array.from({ length: rows }, u), bias_hh_l0: Array.from({ length: rows }, u),
  };
  if (cell === "lstm") for (let j = H; j < 2 * H; j++) weights.bias_ih_l0[j] += forgetBias;
  return { cell, weights, layout: "torch" };
}

// entry: {id, fallback} -> {ref, info, trained}: the stored model when the server has it.
export async function resolveModel(entry) {
  const models = await modelList();
  const found = models.find((m) => m.id === entry.id);
  if (found) {
    const info = { ...found, cell: found.cell, input_size: found.input_size, hidden_size: found.hidden_size };
    return { ref: { id: entry.id }, info, trained: true };
  }
  const info = { ...entry.fallback, num_layers: 1 };
  if (entry.forgetBias !== undefined) {
    return { ref: inlineWeights(info, entry.forgetBias), info: { ...info, forgetBias: entry.forgetBias }, trained: false };
  }
  return { ref: { ...entry.fallback, num_layers: 1 }, info, trained: false };
}

// A smooth input everyone can read: sin / cos of slowly varying frequency per feature.
export function sineInputs(steps, width) {
  const rows = [];
  for (let t = 0; t < steps; t++) {
    const row = [];
    for (let j = 0; j < width; j++) row.push(+(j % 2 === 0 ? Math.sin(t / (2 + j)) : Math.cos(t / (2 + j))).toFixed(4));
    rows.push(row);
  }
  return rows;
}

export function oneHot(k, width) {
  const row = new Array(width).fill(0);
  if (k >= 0 && k < width) row[k] = 1;
  return row;
}

// The trace over the binary wire (float32, rows as Float32Array views; see trace_wire.js).
export function trace(ref, inputs) {
  return postTrace(apiPath("trace"), { model: ref, inputs });
}

// BPTT norms from POST /api/v1/gradients; null when this server has no gradients endpoint.
// The loss is one unit of h at the last step (or given step), so dL/dh_t shows how far back
// that unit's value can still be traced.
export async function gradients(ref, inputs, { step = inputs.length - 1, unit = 0 } = {}) {
  if (!features.gradients) return null;
  try {
    const data = await postJson("gradients", {
      model: ref, inputs, loss: { kind: "unit", step, layer: 0, unit },
    });
    return normaliseGradients(data);
  } catch (err) {
    if (err.status === 404 || err.status === 405) return null;
    throw err;
  }
}

// The API's answer -> {h: [T], c: [T] | null, x: [T]}: per-step norms of dL/dh_t, dL/dC_t and
// dL/dx_t for layer 0 (layers[k].dh_norm, layers[k].dc_norm, dx_norm).
export function normaliseGradients(data) {
  const layer = data?.layers?.[0] ?? {};
  return { h: layer.dh_norm ?? null, c: layer.dc_norm ?? null, x: data?.dx_norm ?? null, raw: data };
}

export function renderTex(target, tex, display = true) {
  katex.render(tex, target, { displayMode: display, throwOnError: false, output: "htmlAndMathml" });
  return target;
}

export function renderAllTex(root = document) {
  for (const node of root.querySelectorAll("[data-tex]")) renderTex(node, node.dataset.tex, node.dataset.display !== "inline");
}

export function text(tag, cls, content) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (content !== undefined) node.textContent = content;
  return node;
}

// Play / pause and a time slider; onChange(t) on every move. It starts at `initial` (0 unless
// the page restores a step, e.g. /compare's ?t=) and reports that step once when built, so
// building it never overwrites a step the page already holds. Plays on its own when autoplay
// is set and the reader has not asked for reduced motion.
export function createStepper(container, { steps, onChange, initial = 0, autoplay = false, interval = 900 }) {
  const play = text("button", "learn-play", "▶");
  play.type = "button";
  play.setAttribute("aria-label", msg("learn.play"));
  const range = document.createElement("input");
  range.type = "range";
  range.min = "0";
  range.max = String(steps - 1);
  range.value = "0";
  range.className = "learn-range";
  range.setAttribute("aria-label", msg("learn.time_step"));
  const out = text("output", "learn-step", "t = 0");
  container.replaceChildren(play, range, out);
  let t = 0;
  let timer = 0;
  const set = (v) => {
    t = Math.max(0, Math.min(steps - 1, v));
    range.value = String(t);
    out.textContent = `t = ${t}`;
    onChange(t);
  };
  const stop = () => {
    clearInterval(timer);
    timer = 0;
    play.textContent = "▶";
    play.setAttribute("aria-label", msg("learn.play"));
  };
  const start = () => {
    play.textContent = "❚❚";
    play.setAttribute("aria-label", msg("learn.pause"));
    timer = setInterval(() => set(t + 1 >= steps ? 0 : t + 1), interval);
  };
  play.addEventListener("click", () => (timer ? stop() : start()));
  range.addEventListener("input", () => { stop(); set(Number(range.value)); });
  set(Math.trunc(Number(initial)) || 0);
  const reduced = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
  if (autoplay && !reduced) start();
  return { set, stop, get t() { return t; } };
}

export function errorText(err) {
  return msg("learn.api_error", { message: err.message });
}

// An <svg> of class cls, labelled for screen readers, appended to parent (compare, train).
export function labelledSvg(parent, cls, label) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  node.setAttribute("class", cls);
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", label);
  parent.appendChild(node);
  return node;
}
