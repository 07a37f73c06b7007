// What one chain draws at step t: every field of the shown layer in one direction, the state
// carried in from the step read just before (t - 1 going forward, t + 1 for the backward
// direction), the input, the neighbours' tokens and whether a clamp acts here.
import { layerFields, layerInput } from "./directions.js";

export function stepView(app, state, t, dir = "forward") {
  const { trace } = app;
  const layer = app.layers[dir];
  const backward = dir === "backward";
  const at = {};
  for (const [k, m] of Object.entries(layer)) at[k] = m[t];
  const zeros = new Array(trace.hidden_size).fill(0);
  const zerosH = new Array(trace.proj_size || trace.hidden_size).fill(0); // h: proj_size units with a projection
  const b = backward ? t + 1 : t - 1;
  const has = b >= 0 && b < trace.steps; // else the initial state (zeros)
  const prev = { c: has ? layer.c?.[b] ?? zeros : zeros, h: has ? layer.h[b] : zerosH };
  let orig = null;
  if (app.original) {
    const ol = layerFields(app.original, state.layer, dir);
    const oat = {};
    for (const [k, m] of Object.entries(ol)) oat[k] = m[t];
    orig = { at: oat, prev: { c: has ? ol.c?.[b] ?? zeros : zeros, h: has ? ol.h[b] : zerosH } };
  }
  const token = (k) => (k < 0 || k >= trace.steps ? null : tokenLabel(app, k));
  const x = state.layer === 0 ? inputAt(app, t) : layerInput(trace, state.layer, t);
  const c = app.clamp;
  const clampDir = c?.direction ?? "forward";
  const clamped = c && c.layer === state.layer && clampDir === dir && (!c.steps || c.steps.includes(t)) ? c : null;
  const after = backward ? t - 1 : t + 1;
  return {
    t, T: trace.steps, step: backward ? -1 : 1, unit: state.unit, at, prev, x, orig, clamped,
    tokens: { prev: token(b), cur: token(t), next: token(after) },
  };
}

// The input vector at step t: the numbers sent, or for text the token's one-hot vector.
export function inputAt(app, t) {
  if (app.inputs) return app.inputs[t] ?? null;
  const vocab = app.info?.vocab ?? app.info?.vocabulary;
  if (!vocab || !app.trace.tokens) return null;
  const x = new Array(app.trace.input_size).fill(0);
  const k = vocab.indexOf(app.trace.tokens[t]);
  if (k >= 0 && k < x.length) x[k] = 1;
  return x;
}

export function tokenLabel(app, k) {
  if (app.trace.tokens) {
    const tok = String(app.trace.tokens[k]);
    if (tok.length > 7) return `${tok.slice(0, 6)}…`; // a word: the circle holds a few letters
    return tok === " " ? "␣" : tok === "\n" ? "↵" : tok;
  }
  const row = app.inputs?.[k];
  if (!row) return "";
  const shown = row.slice(0, 2).map((v) => v.toFixed(2)).join(", ");
  return row.length > 2 ? `${shown}, …` : shown;
}
