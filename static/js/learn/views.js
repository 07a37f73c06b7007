// Turning an API trace into what the figures paint at step t.
export function zeros(n) {
  return new Array(n).fill(0);
}

// The explorer's chain view: {t, T, at, prev: {c, h}, x, tokens, unit}.
export function chainView(trace, inputs, t) {
  const layer = trace.layers[0];
  const H = trace.hidden_size;
  const at = {};
  for (const [k, m] of Object.entries(layer)) at[k] = m[t];
  const prev = { c: t > 0 ? layer.c?.[t - 1] ?? zeros(H) : zeros(H), h: t > 0 ? layer.h[t - 1] : zeros(H) };
  const tok = (k) => (k >= 0 && k < trace.steps ? inputs[k].slice(0, 2).map((v) => v.toFixed(2)).join(", ") : null);
  return { t, T: trace.steps, unit: 0, at, prev, x: inputs[t], tokens: { prev: tok(t - 1), cur: tok(t), next: tok(t + 1) } };
}

export function hPrev(trace, t) {
  const layer = trace.layers[0];
  return t > 0 ? layer.h[t - 1] : zeros(trace.hidden_size);
}

export function l2(v) {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

export function diffNorms(a, b) {
  return a.map((row, t) => l2(row.map((v, k) => v - b[t][k])));
}

// The running product of f along the cell line, from each step up to the loss step:
// P_t = f_{t+1} * ... * f_T for one unit (the direct path dC_T/dC_t).
export function forgetProduct(f, unit, last = f.length - 1) {
  const out = new Array(f.length).fill(NaN);
  let p = 1;
  for (let t = last; t >= 0; t--) {
    out[t] = p;
    p *= f[t][unit];
  }
  return out;
}
