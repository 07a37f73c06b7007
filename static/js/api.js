// The only module that talks to the server (REST and the live-stepping WebSocket).
// Paths are relative, so the app works under a root path too. Traces travel as safetensors
// (trace_wire.js); JSON stays for the small answers.
import { postTrace } from "./trace_wire.js";

async function request(path, options = {}) {
  const res = await fetch(path, options);
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : null;
  if (!res.ok) {
    const message = data?.message || data?.detail?.[0]?.msg || `HTTP ${res.status}`;
    const err = new Error(message);
    err.status = res.status;
    throw err;
  }
  return data;
}

// model: {id} or {cell, input_size, hidden_size, num_layers, seed}; input: {inputs} or {text};
// clamp: a list of {field, value, units, steps, layer} or null. The answer has the JSON
// shape (layers[k][field][t][u]) with rows as Float32Array views (float32 unless dtype says).
export function fetchTrace(model, input, { clamp = null, signal = undefined, dtype = undefined } = {}) {
  const body = { model, ...input };
  if (dtype) body.dtype = dtype;
  if (clamp && clamp.length) body.clamp = clamp;
  return postTrace("api/v1/trace", body, signal);
}

// The same trace as one safetensors file (unrounded arrays, for NumPy or PyTorch): a Blob.
export async function fetchTraceFile(model, input, { clamp = null, dtype = "float64" } = {}) {
  const body = { model, dtype, format: "safetensors", ...input };
  if (clamp && clamp.length) body.clamp = clamp;
  return postForBlob("api/v1/trace", body);
}

// POST a JSON body and take the answer as a Blob; a 4xx/5xx throws with the server's message.
async function postForBlob(url, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    const data = await res.json().catch(() => null);
    throw new Error(data?.message || `HTTP ${res.status}`);
  }
  return res.blob();
}

// The explorer for this trace as one self-contained HTML file (app/web/standalone.py): a Blob.
export async function fetchTraceHtml(model, input, { clamp = null, lang = "en" } = {}) {
  const body = { model, dtype: "float64", ...input };
  if (clamp && clamp.length) body.clamp = clamp;
  return postForBlob(`api/v1/trace/html?lang=${encodeURIComponent(lang)}`, body);
}

// Optional parts of the API this server has (the page is told by the server when it loads).
export const features = {
  models: document.body.dataset.apiModels === "true",
  live: document.body.dataset.apiLive === "true",
  clamp: document.body.dataset.apiClamp === "true",
};

// The model list; a server without it gives an empty list rather than an error.
export async function fetchModels() {
  if (!features.models) return [];
  try {
    const data = await request("api/v1/models");
    return Array.isArray(data) ? data : data?.models ?? [];
  } catch (err) {
    if (err.status === 404 || err.status === 405) return [];
    throw err;
  }
}

export function fetchModel(id) {
  return request(`api/v1/models/${encodeURIComponent(id)}`);
}

// Live stepping: resolves to a small client once the socket is open and the model accepted.
// onStep receives each step's answer; the caller keeps the growing trace.
export function openStepSocket(model, { onStep, onError, onClose }) {
  const url = new URL("api/v1/step", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let opened = false;
    const client = {
      send: (input) => ws.send(JSON.stringify(input)),
      reset: () => ws.send(JSON.stringify({ type: "reset" })),
      back: () => ws.send(JSON.stringify({ type: "back" })),
      close: () => ws.close(),
      get open() {
        return ws.readyState === WebSocket.OPEN;
      },
    };
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "open", model })));
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "error" || msg.error) {
        const err = new Error(msg.message || msg.error?.message || "WebSocket error");
        if (!opened) reject(err);
        else onError?.(err);
        return;
      }
      if (!opened) {
        opened = true;
        resolve(client);
        if (msg.type === "ready" || msg.type === "opened") return;
      }
      onStep?.(msg);
    });
    ws.addEventListener("error", () => {
      if (!opened) reject(new Error("WebSocket failed"));
    });
    ws.addEventListener("close", () => {
      if (!opened) reject(new Error("WebSocket closed"));
      onClose?.();
    });
  });
}
