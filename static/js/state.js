// One state object, serialised to the URL, so a reload or a shared link restores the view.
// Numbers are parsed back as numbers, strings stay strings; unknown keys are ignored.
const DEFAULTS = {
  lang: "",
  model: "", // "" = a random model of the sizes below; otherwise a stored model's id
  cell: "lstm",
  d: 2, // input size
  hidden: 4,
  layers: 1,
  bi: 0, // 1 = a bidirectional random model
  seed: 0,
  gen: "sine", // sine | steps | noise | csv
  steps: 12,
  noise: 0,
  csv: "", // the typed or pasted numbers when gen = csv
  text: "",
  t: 0, // timestep shown in the opened module
  sub: -1, // -1 = whole step; 0..3 = focus f, i, C, o
  unit: 0, // selected unit
  layer: 0,
  dir: "forward", // direction shown of a bidirectional layer: forward | backward
  field: "c", // field colouring the text and leading the unit chart
  speed: 1,
  clamp: "", // field:value:units:steps, e.g. f:1:0-3:5-9
};

const NUMERIC = new Set(["d", "hidden", "layers", "bi", "seed", "steps", "noise", "t", "sub", "unit", "layer", "speed"]);

export function readState(search = window.location.search) {
  const q = new URLSearchParams(search);
  const state = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS)) {
    const raw = q.get(key);
    if (raw === null) continue;
    if (NUMERIC.has(key)) {
      const n = Number(raw);
      if (Number.isFinite(n)) state[key] = n;
    } else {
      state[key] = raw;
    }
  }
  return state;
}

// Only what differs from the defaults goes into the link, keeping it short; t is always kept.
export function toQuery(state) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) {
    if (!(k in DEFAULTS)) continue;
    if (k === "t" || v !== DEFAULTS[k]) q.set(k, String(v));
  }
  return q.toString();
}

// Coalesced: the URL changes at most every URL_MS (browsers throttle history updates),
// always with the latest state.
const URL_MS = 250;
let pending = 0;
let lastWrite = -Infinity;

export function writeStateNow(state) {
  clearTimeout(pending);
  pending = 0;
  lastWrite = performance.now();
  try {
    window.history.replaceState(null, "", `?${toQuery(state)}`);
  } catch {
    // a saved page (file://, an iframe's srcdoc) may not rewrite its URL; the state stays
  }
}

export function writeState(state) {
  if (pending) return;
  const wait = lastWrite + URL_MS - performance.now();
  if (wait <= 0) writeStateNow(state);
  else pending = setTimeout(() => writeStateNow(state), wait);
}

// Whether a link carries any of the explorer's state (the language alone does not count).
export function linkHasState(search = window.location.search) {
  const q = new URLSearchParams(search);
  return Object.keys(DEFAULTS).some((k) => k !== "lang" && q.has(k));
}
