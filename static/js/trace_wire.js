// Traces on the wire: POST /api/v1/trace answered as float32 safetensors (a fifth of the
// float64 JSON answer's bytes; the display shows 3 or 4 digits) and read into typed-array
// views (safetensors.js), with no per-number parsing. Answers carry a strong ETag; the last few
// traces are kept with theirs, and asking again for one sends If-None-Match, so a class
// re-opening the same example gets a 304 of a few hundred bytes instead of the trace.
// globalThis.gatescopeWire = {format: "json", dtype: "float64"} (set before the page's
// scripts run) switches back to the JSON answer, for the benchmark's side-by-side figures.
import { traceFromSafetensors, writeSafetensors } from "./safetensors.js";

const KEEP = 4; // traces kept for If-None-Match (a few MB each at T=1000, H=128)
const BINARY_FROM = 2048; // inputs of more numbers than this go as a safetensors body
const kept = new Map(); // request body text -> {etag, trace}

export const wire = () => ({ format: "safetensors", dtype: "float32", ...(globalThis.gatescopeWire ?? {}) });

async function failure(res) {
  const data = (res.headers.get("content-type") || "").includes("json") ? await res.json().catch(() => null) : null;
  const err = new Error(data?.message || data?.detail?.[0]?.msg || `HTTP ${res.status}`);
  err.status = res.status;
  return err;
}

// A long numeric sequence as a safetensors body (app/api/binary.py): float32 numbers when the
// trace is float32 (the server computes in float32 then anyway), so 4 bytes a number instead
// of JSON's ~18; h0/c0 join it. Everything else stays JSON text in its metadata.
function encodeRequest(full, text) {
  const { inputs, h0, c0, ...options } = full;
  const count = inputs ? inputs.length * (inputs[0]?.length ?? 0) : 0;
  if (wire().format === "json" || count <= BINARY_FROM) return { type: "application/json", payload: text };
  const dtype = full.dtype === "float32" ? "F32" : "F64";
  const tensors = { inputs: { dtype, rows: inputs } };
  if (h0) tensors.h0 = { dtype, rows: h0 };
  if (c0) tensors.c0 = { dtype, rows: c0 };
  const payload = writeSafetensors(tensors, { request: JSON.stringify(options) });
  return { type: "application/vnd.safetensors", payload };
}

// url: the trace endpoint; body: the JSON request without format (dtype defaults to the
// wire's). Resolves to the JSON answer's shape, rows being Float32Array/Float64Array views
// for the binary answer.
export async function postTrace(url, body, signal) {
  const { format, dtype } = wire();
  const full = { ...body, dtype: body.dtype ?? dtype, format };
  const text = JSON.stringify(full);
  const hit = kept.get(text);
  const { type, payload } = encodeRequest(full, text);
  const headers = { "Content-Type": type };
  if (hit) headers["If-None-Match"] = hit.etag;
  const res = await fetch(url, { method: "POST", headers, body: payload, signal });
  if (res.status === 304 && hit) {
    kept.delete(text);
    kept.set(text, hit); // most recently used last
    return hit.trace;
  }
  if (!res.ok) throw await failure(res);
  const trace = format === "json" ? await res.json() : traceFromSafetensors(await res.arrayBuffer());
  const etag = res.headers.get("etag");
  if (etag) {
    kept.delete(text);
    kept.set(text, { etag, trace });
    while (kept.size > KEEP) kept.delete(kept.keys().next().value);
  }
  return trace;
}
