// The /train page's state: every setting of the race, in the URL, so a link reproduces the
// run. The defaults are the server's (TrainStart's field defaults, rendered into the page by
// app/web/train_page.py), never repeated here. Settings are always written out in full, so a
// teacher's link keeps its race even if the server's defaults change later.
const node = document.getElementById("train-config");
export const CONFIG = node ? JSON.parse(node.textContent) : { defaults: {}, bounds: {}, tasks: [], cells: [] };

const NUMBERS = ["gap", "hidden", "lr", "batch", "seed", "steps", "every", "forget_bias"];
// The settings this server's start message has (those it gave the page a default for).
export const SETTINGS = ["task", "gap", "cells", ...NUMBERS.slice(1)].filter((k) => k in CONFIG.defaults);

export function defaults() {
  return { ...CONFIG.defaults, cells: [...(CONFIG.defaults.cells ?? [])], lang: "", play: 0, t: -1 };
}

export function readState(search = window.location.search) {
  const q = new URLSearchParams(search);
  const state = defaults();
  if (q.has("task")) state.task = q.get("task");
  if (q.has("cells")) state.cells = q.get("cells").split(",").filter(Boolean);
  for (const key of [...NUMBERS, "play", "t"]) {
    const raw = q.get(key);
    if (raw === null || raw === "") continue;
    const n = Number(raw);
    if (Number.isFinite(n)) state[key] = n;
  }
  if (q.has("lang")) state.lang = q.get("lang");
  return state;
}

// The race's settings as the start message sends them.
export function startMessage(state) {
  const msg = { type: "start" };
  for (const key of SETTINGS) msg[key] = key === "cells" ? [...state[key]] : state[key];
  return msg;
}

export function toQuery(state, { play = false } = {}) {
  const q = new URLSearchParams();
  if (state.lang) q.set("lang", state.lang);
  for (const key of SETTINGS) q.set(key, key === "cells" ? state.cells.join(",") : String(state[key]));
  if (play) q.set("play", "1");
  return q.toString();
}

export function writeState(state) {
  try {
    window.history.replaceState(null, "", `?${toQuery(state)}`);
  } catch {
    // a page that may not rewrite its URL keeps its state in memory
  }
}

// The link that reproduces this race: opening it starts the same run and plays it.
export function permalink(state) {
  const url = new URL(window.location.href);
  url.search = `?${toQuery(state, { play: true })}`;
  return url.toString();
}
