// /train: watch a model learn (issue 17). The server trains the race (WebSocket /api/v1/train,
// docs/train.md) and streams a snapshot of each run every few updates; this page keeps them
// all, draws the one the scrub slider points at (the newest while it sits at the end) and
// redraws at most once per animation frame, however fast snapshots arrive.
import { t as msg, lang as pageLang } from "../i18n.js";
import { fillForm, showError, wireForm } from "./form.js";
import { gapSpan, memoryUnit } from "./probe.js";
import { createRunPanel } from "./run_panel.js";
import { createSocket, rootPath } from "./socket.js";
import { permalink, readState, startMessage, writeState } from "./state.js";

const $ = (id) => document.getElementById(id);
const page = $("train-page");
let state = readState();
let runs = []; // [{run, cell, horizon, snaps, panel}]
let phase = "connecting"; // ready | playing | paused | finished | stopped | idle | closed
let view = 0; // the snapshot index shown
let follow = true; // the view follows the newest snapshot
let playAfterReady = state.play === 1;
let pendingExports = [];
let dirty = false;
let picked = null; // the unit clicked in a heatmap, {run, unit}; else each run's memory unit

const socket = createSocket({ onMessage, onClose });

function setPhase(next) {
  phase = next;
  page.dataset.state = next;
  const playing = next === "playing";
  const play = $("train-play");
  play.dataset.playing = String(playing);
  play.textContent = playing ? "❚❚" : "▶";
  play.title = play.dataset[playing ? "pause" : "play"];
  play.setAttribute("aria-label", play.title);
  play.disabled = next === "finished" || next === "stopped";
  $("train-step").disabled = !(next === "ready" || next === "paused");
  const exportable = next === "ready" || next === "paused" || next === "finished" || next === "stopped";
  runs.forEach((r) => r.panel.setExportable(exportable && r.snaps.length > 0));
  $("train-status").textContent = msg(`train.phase.${next}`);
}

function start(play = false) {
  showError("");
  playAfterReady = play;
  setPhase("connecting");
  socket.send(startMessage(state));
}

function onMessage(m) {
  if (m.type === "ready") onReady(m);
  else if (m.type === "snapshot") onSnapshot(m);
  else if (m.type === "paused") setPhase("paused");
  else if (m.type === "finished") setPhase("finished");
  else if (m.type === "stopped") onStopped(m);
  else if (m.type === "exported") onExported(m);
  else if (m.type === "error") onError(m);
}

function onReady(m) {
  const box = $("train-runs");
  box.replaceChildren();
  box.dataset.runs = String(m.runs.length);
  runs = m.runs.map((r) => ({
    ...r, snaps: [],
    panel: createRunPanel(box, {
      k: r.run, cell: r.cell, task: state.task, hidden: state.hidden, horizon: r.horizon, onExport,
      onPick: ({ t, unit }) => { state.t = t; picked = { run: r.run, unit }; schedule(); },
    }),
  }));
  view = 0;
  follow = true;
  picked = null;
  setPhase("ready");
  if (playAfterReady) {
    playAfterReady = false;
    play();
  }
}

function onSnapshot(m) {
  const run = runs[m.run];
  if (!run) return;
  run.snaps.push(m);
  const count = Math.max(...runs.map((r) => r.snaps.length));
  if (follow) view = count - 1;
  const step = Math.max(...runs.map((r) => r.snaps.at(-1)?.step ?? 0));
  $("train-step-count").textContent = String(step);
  $("train-step-count").dataset.step = String(step);
  $("train-step-count").dataset.snapshots = String(runs.reduce((n, r) => n + r.snaps.length, 0));
  if (phase !== "playing") setPhase(phase); // the export buttons wait for a first snapshot
  schedule();
}

function onStopped(m) {
  if (m.reason === "idle") {
    runs.forEach((r) => r.panel.setStopped(msg("train.stopped_idle")));
    showError(msg("train.stopped_idle"));
    setPhase("idle");
    return;
  }
  const run = runs[m.run];
  if (!run) return;
  const text = msg("train.stopped_budget", { step: m.step, spent: m.spent, budget: m.budget?.run ?? "" });
  run.panel.setStopped(text);
  showError(`${msg(`compare.cell.${run.cell}`)}: ${text}`);
  run.stopped = true;
  if (runs.every((r) => r.stopped)) setPhase("stopped");
}

function onError(m) {
  const text = m.code === "server_full" ? `${msg("train.server_full")} ${m.message}` : m.message;
  showError(text);
  for (const p of pendingExports) p.tab?.close();
  if (pendingExports.length) pendingExports = [];
  if (phase === "connecting") setPhase(runs.length ? "paused" : "idle");
}

function onClose() {
  for (const p of pendingExports) p.tab?.close();
  pendingExports = [];
  if (phase !== "idle") setPhase("closed");
}

function play() {
  if (phase === "ready" || phase === "paused") {
    socket.send({ type: "play" });
    setPhase("playing");
  } else if (phase === "idle" || phase === "closed") {
    start(true);
  } else if (phase === "connecting") {
    playAfterReady = true; // a press before the runs are ready plays them once they are
  }
}

// The unit to open the explorer on: the one the stored model names as its memory, if the
// server found one, else the highest mean forget gate across the gap on the probe.
async function unitToShow(modelId, trace, span) {
  try {
    const res = await fetch(`${rootPath}api/v1/models/${encodeURIComponent(modelId)}`);
    const info = res.ok ? await res.json() : null;
    const named = (info?.units ?? []).find((u) => u.kind === "memory" && Number.isInteger(u.unit));
    if (named) return named.unit;
  } catch {
    // the model's record could not be read: the probe's own reading below
  }
  return memoryUnit(trace, span);
}

async function explorerHref(run, modelId) {
  const snap = run.snaps.at(-1);
  const trace = snap.probe.trace;
  const T = trace.h.length;
  const span = gapSpan(state.task, T);
  const q = new URLSearchParams({ model: modelId, lang: state.lang || pageLang });
  q.set("unit", String(await unitToShow(modelId, trace, span)));
  if (trace.f) { q.set("field", "f"); q.set("sub", "0"); }
  q.set("t", String(span ? Math.floor((span[0] + span[1]) / 2) : 0));
  if (snap.probe.tokens) q.set("text", snap.probe.tokens.join(" "));
  return `${rootPath}?${q}`;
}

function onExport(k, keep, name) {
  // The tab opens now, inside the click (a browser blocks windows opened later), and is sent
  // to the model once the server has stored it.
  const tab = keep === "session" ? window.open("", "_blank") : null;
  pendingExports.push({ k, keep, tab });
  const message = { type: "export", run: k, keep };
  if (name.trim()) message.name = name.trim();
  runs[k].panel.setResult(msg("train.exporting"));
  socket.send(message);
}

async function onExported(m) {
  const at = pendingExports.findIndex((p) => p.k === m.run && p.keep === m.keep);
  const pending = at >= 0 ? pendingExports.splice(at, 1)[0] : null;
  const run = runs[m.run];
  if (!run) return;
  const href = await explorerHref(run, m.model_id);
  const link = document.createElement("a");
  link.href = href;
  link.target = "_blank";
  link.id = `train-explorer-link-${m.run}`;
  link.dataset.modelId = m.model_id;
  link.textContent = m.keep === "saved" ? msg("train.saved_as", { name: m.name ?? m.model_id }) : msg("train.opened");
  run.panel.setResult(link);
  if (pending?.tab) pending.tab.location.href = href;
}

function schedule() {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(render);
}

function render() {
  dirty = false;
  const count = Math.max(0, ...runs.map((r) => r.snaps.length));
  const scrub = $("train-scrub");
  scrub.max = String(Math.max(0, count - 1));
  scrub.value = String(view);
  const first = runs[0]?.snaps[Math.min(view, (runs[0]?.snaps.length ?? 1) - 1)];
  $("train-scrub-step").textContent = first ? msg("train.at_update", { step: first.step }) : "";
  if (!first) return;
  const T = first.probe.trace.h.length;
  const tBox = $("train-t");
  tBox.max = String(T - 1);
  const span = gapSpan(state.task, T);
  const t = state.t >= 0 ? Math.min(state.t, T - 1) : span ? Math.floor((span[0] + span[1]) / 2) : T - 1;
  tBox.value = String(t);
  const token = first.probe.tokens?.[t];
  $("train-t-token").textContent = token ? `t = ${t} · ${token}` : `t = ${t}`;
  for (const run of runs) {
    const snap = run.snaps[Math.min(view, run.snaps.length - 1)];
    const unit = picked?.run === run.run ? picked.unit : memoryUnit(snap?.probe.trace ?? {}, span);
    if (snap) run.panel.show(run.snaps, view, t, unit);
  }
}

function settingsChanged(next) {
  state = { ...next, t: next.task === state.task && next.gap === state.gap ? state.t : -1 };
  writeState(state);
  $("train-permalink").href = permalink(state);
  start(false);
}

$("train-play").addEventListener("click", () => {
  if (phase === "playing") {
    socket.send({ type: "pause" });
    $("train-status").textContent = msg("train.phase.pausing");
  } else {
    play();
  }
});
$("train-step").addEventListener("click", () => {
  if (phase === "ready" || phase === "paused") socket.send({ type: "step" });
});
$("train-reset").addEventListener("click", () => {
  showError("");
  if (runs.length && phase !== "idle" && phase !== "closed") {
    setPhase("connecting");
    socket.send({ type: "reset" });
  } else {
    start(false);
  }
});
$("train-scrub").addEventListener("input", (ev) => {
  view = Number(ev.target.value);
  follow = view >= Number(ev.target.max);
  schedule();
});
$("train-t").addEventListener("input", (ev) => {
  state.t = Number(ev.target.value);
  schedule();
});

wireForm(() => state, settingsChanged);
fillForm(state);
writeState(state);
$("train-permalink").href = permalink(state);
start(playAfterReady);
window.addEventListener("resize", schedule);
window.gatescopeTrain = { get state() { return state; }, get runs() { return runs; }, get phase() { return phase; } };
page.dataset.ready = "true";
