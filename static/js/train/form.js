// The race's form: task, gap (delayed recall only), one or two cells, sizes and rates. It only
// reads and writes the state; the server checks every bound and its error names the limit.
import { CONFIG } from "./state.js";

const $ = (id) => document.getElementById(id);
const NUMBER_FIELDS = ["hidden", "lr", "batch", "seed", "steps", "every", "forget_bias"].filter((k) => document.getElementById(`train-${k}`));
const cellSelects = () => [...document.querySelectorAll("select[id^=train-cell-]")];

export function fillForm(state) {
  $("train-task").value = state.task;
  $("train-gap").value = String(state.gap);
  $("train-gap-value").textContent = String(state.gap);
  $("train-gap-field").hidden = state.task !== "delayed-recall";
  cellSelects().forEach((sel, k) => { sel.value = state.cells[k] ?? ""; });
  for (const name of NUMBER_FIELDS) $(`train-${name}`).value = String(state[name]);
}

// The settings as typed; a field left empty keeps the state's value.
export function readForm(state) {
  const next = { ...state };
  next.task = $("train-task").value;
  next.gap = Number($("train-gap").value);
  next.cells = cellSelects().map((sel) => sel.value).filter(Boolean);
  for (const name of NUMBER_FIELDS) {
    const raw = $(`train-${name}`).value;
    if (raw.trim() !== "" && Number.isFinite(Number(raw))) next[name] = Number(raw);
  }
  return next;
}

// onChange(state): a setting changed (the gap slider reports when it is let go).
export function wireForm(getState, onChange) {
  const form = $("train-form");
  form.addEventListener("submit", (ev) => ev.preventDefault());
  $("train-gap").addEventListener("input", () => { $("train-gap-value").textContent = $("train-gap").value; });
  form.addEventListener("change", () => {
    const next = readForm(getState());
    $("train-gap-field").hidden = next.task !== "delayed-recall";
    onChange(next);
  });
}

export function showError(text) {
  const box = $("train-error");
  box.textContent = text ?? "";
  box.hidden = !text;
}

export const bounds = CONFIG.bounds;
