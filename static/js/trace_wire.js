// Traces on the wire: POST /api/v1/trace answered as float32 safetensors (a fifth of the
// float64 JSON answer's bytes; the display shows 3 or 4 digits) and read into typed-array
// views (safetensors.js), with no per-number parsing. Answers carry a strong ETag; the last few
// traces are kept with theirs, and asking again for one sends If-None-Match, so a class
// re-opening the same example gets a 304 of a few hundred bytes instead of the trace.
// globalThis.gatescopeWire = {format: "json", dtype: "float64"} (set before the page's
// scripts run) switches back to the JSON answer, for the benchmark's side-by-side figures.
import { traceFromSafetensors } from "./safetensors.js";

const KEEP = 4; // traces kept for If-None-Match (a few MB each at T=1000, H=128)
const kept = new Map(); // request body text -> {etag, trace}

export const wire = () => ({ format: "safetensors", dtype: "float32", ...(globalThis.gatescopeWire ?? {}) });

async function failure(res) {
  const data = (res.headers.get("content-type") || "").includes("json") ? await res.json().catch(() => null) : null;
  const err = new Error(data?.message || data?.detail?.[0]?.msg || `HTTP ${res.status}`);
  err.status = res.status;
  return err;
}

// url: the trace endpoint; body: the JSON request without format (dtype defaults to the
// wire's). Resolves to the JSON answer's shape, rows being Float32Array/Float64Array views
// for the binary answer.
export async function postTrace(url, body, signal) {
  const { format, dtype } = wire();
  const full = { ...body, dtype: body.dtype ?? dtype, format };
  const text = JSON.stringify(full);
  const hit = kept.get(text);
  const headers = { "Content-Type": "application/json" };
  if (hit) headers["If-None-Match"] = hit.etag;
  const res = await fetch(url, { method: "POST", headers, body: text, signal });
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
