// /models: upload by drag and drop, the model list with metadata, open in the explorer,
// copy a permalink. Every name and description is set with textContent, never as HTML.
import { lang, modelName, t as msg } from "../i18n.js";
import { $, ROOT, apiPath, features, fetchModel, fetchModels, text } from "../learn/common.js";

let chosen = null;

function explorerLink(id) {
  return `${ROOT}?model=${encodeURIComponent(id)}&lang=${lang}`;
}

function permalink(id) {
  return new URL(explorerLink(id), window.location.origin).href;
}

function status(msg, isError = false) {
  $("upload-status").textContent = msg;
  $("upload-status").classList.toggle("error", isError);
}

function pick(file) {
  chosen = file;
  $("drop-file").textContent = file ? msg("models.chosen", { name: file.name, kb: (file.size / 1024).toFixed(1) }) : "";
  if (file && !$("upload-name").value) $("upload-name").value = file.name.replace(/\.[^.]+$/, "");
}

function wireDrop() {
  const zone = $("dropzone");
  const input = $("upload-file");
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    pick(ev.dataTransfer?.files?.[0] ?? null);
  });
  zone.addEventListener("click", (ev) => {
    if (ev.target !== input) input.click();
  });
  zone.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); input.click(); }
  });
  input.addEventListener("change", () => pick(input.files?.[0] ?? null));
}

async function upload(ev) {
  ev.preventDefault();
  if (!chosen) return status(msg("models.no_file"), true);
  const form = new FormData();
  form.append("file", chosen, chosen.name);
  form.append("name", $("upload-name").value.trim() || chosen.name);
  form.append("cell", $("upload-cell").value);
  form.append("layout", $("upload-layout").value);
  const vocab = $("upload-vocab").value.trim();
  if (vocab) form.append("vocab", vocab);
  const prefix = $("upload-prefix").value.trim();
  if (prefix) form.append("prefix", prefix);
  status(msg("models.uploading"));
  try {
    const res = await fetch(apiPath("models"), { method: "POST", body: form });
    const data = (res.headers.get("content-type") || "").includes("json") ? await res.json() : null;
    if (!res.ok) throw new Error(data?.message || `HTTP ${res.status}`);
    status(msg("models.upload_ok"));
    $("uploaded-id").textContent = data.id;
    $("uploaded-token").textContent = data.delete_token ?? "";
    showAccount(data);
    $("upload-result").hidden = false;
    await refresh();
    await showDetail(data.id);
  } catch (err) {
    status(msg("models.upload_failed", { message: err.message }), true);
  }
}

// What the server made of the file: the readout it took (or not), and each tensor it left
// out with the reason, so that a silently dropped layer cannot go unnoticed.
function showAccount(data) {
  const n = data.readout_size;
  $("uploaded-readout").textContent = n ? msg("models.readout_taken", { n }) : msg("models.readout_none");
  const ignored = data.ignored_tensors ?? [];
  const box = $("uploaded-ignored");
  box.hidden = ignored.length === 0;
  box.open = ignored.length > 0 && ignored.length <= 6;
  box.querySelector("summary").textContent = msg("models.ignored", { n: ignored.length });
  box.querySelector("ul").replaceChildren(...ignored.map((t) => {
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = t.name;
    // The server's reason is English and names the layers; other languages show the kind of
    // reason in their own words, with the English details on hover.
    const said = lang === "en" ? t.reason : msg(`models.reason.${t.code}`);
    li.append(code, `: ${said}`);
    if (lang !== "en") li.title = t.reason;
    return li;
  }));
}

function describe(m) {
  const d = m.description;
  if (d && typeof d === "object") return d[lang] ?? d.en ?? "";
  return m[`description_${lang}`] ?? d ?? "";
}

function actionButton(label, cls, onClick) {
  const b = text("button", cls, label);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

async function refresh() {
  const models = await fetchModels();
  const body = $("models-table").tBodies[0];
  body.replaceChildren();
  $("models-empty").hidden = models.length > 0;
  for (const m of models) {
    const row = body.insertRow();
    row.dataset.id = m.id;
    row.insertCell().textContent = modelName(m);
    row.cells[0].title = describe(m);
    row.insertCell().textContent = m.cell ?? "";
    row.insertCell().textContent = `${m.input_size ?? "?"} → ${m.hidden_size ?? "?"} × ${m.num_layers ?? 1}`;
    const dirs = m.num_directions ?? 1; // 2: a bidirectional model
    const cell = row.insertCell();
    cell.className = "directions";
    cell.dataset.directions = String(dirs);
    cell.textContent = dirs === 2 ? `2 ⇄ ${msg("models.bidirectional")}` : "1 →";
    row.insertCell().textContent = m.task ?? "";
    const actions = row.insertCell();
    const open = text("a", "open-explorer", msg("models.open"));
    open.href = explorerLink(m.id);
    actions.append(
      open,
      actionButton(msg("models.copy"), "copy-link", (ev) => copy(m.id, ev.currentTarget)),
      actionButton(msg("models.details"), "show-details", () => showDetail(m.id)),
    );
  }
}

async function copy(id, button) {
  const link = permalink(id);
  try {
    await navigator.clipboard.writeText(link);
    button.textContent = msg("models.copied");
  } catch {
    button.textContent = msg("models.copy_failed");
  }
  button.dataset.link = link;
}

async function showDetail(id) {
  const m = await fetchModel(id);
  $("model-detail").hidden = false;
  $("model-detail").dataset.id = id;
  $("detail-name").textContent = modelName(m);
  const lookAt = m.look_at && typeof m.look_at === "object" ? m.look_at[lang] ?? m.look_at.en : "";
  $("detail-description").textContent = [describe(m), lookAt].filter(Boolean).join(" ");
  const dl = $("detail-meta");
  dl.replaceChildren();
  const rows = [["id", m.id], ["cell", m.cell], ["input_size", m.input_size], ["hidden_size", m.hidden_size], ["num_layers", m.num_layers], ["num_directions", m.num_directions ?? 1], ["proj_size", m.proj_size || null], ["task", m.task], ["vocab", m.vocab ? `${m.vocab.length}` : null], ["metrics", m.metrics ? JSON.stringify(m.metrics) : null]];
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(text("dt", "", msg(`models.meta.${k}`)), text("dd", "", String(v)));
  }
  const url = new URL(window.location.href);
  url.searchParams.set("id", id);
  window.history.replaceState(null, "", url);
}

async function start() {
  wireDrop();
  $("upload-form").addEventListener("submit", upload);
  if (!features.upload) $("upload-submit").disabled = true;
  if (!features.models) {
    status(msg("models.api_missing"), true);
  } else {
    await refresh();
    const id = new URLSearchParams(window.location.search).get("id");
    if (id) await showDetail(id).catch(() => status(msg("models.not_found", { id }), true));
  }
  document.body.dataset.ready = "true";
}

start().catch((err) => {
  status(err.message, true);
  document.body.dataset.ready = "true";
});
