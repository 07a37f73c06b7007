// One state object, serialised to the URL so a reload or a shared link restores the view.
const DEFAULTS = { hidden: 4, steps: 12, seed: 0, t: 0 };

export function readState(search = window.location.search) {
  const q = new URLSearchParams(search);
  const state = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS)) {
    const n = Number.parseInt(q.get(key) ?? "", 10);
    if (Number.isFinite(n) && n >= 0) state[key] = n;
  }
  return state;
}

export function writeState(state) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) q.set(k, String(v));
  window.history.replaceState(null, "", `?${q}`);
}
