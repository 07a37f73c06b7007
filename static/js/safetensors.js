// Reading safetensors files in the browser: an 8-byte little-endian header length, a JSON
// header (dtype, shape and byte offsets of each tensor, plus text metadata), then the bytes.
// Tensors become typed-array views of the downloaded buffer: nothing is parsed per number,
// and nothing is copied unless a tensor is not aligned to its element size (typed arrays
// must be; the files the server writes are, as safetensors pads its header to 8 bytes).
const TYPES = {
  F64: Float64Array, F32: Float32Array, I64: BigInt64Array, I32: Int32Array, I16: Int16Array,
  I8: Int8Array, U64: BigUint64Array, U32: Uint32Array, U16: Uint16Array, U8: Uint8Array, BOOL: Uint8Array,
};
const MAX_HEADER = 100 * 1024 * 1024;

export class SafetensorsError extends Error {}

// buffer: an ArrayBuffer -> {metadata: {key: text}, tensors: {name: {dtype, shape, data}}},
// in the header's order; data is a typed array (a view of buffer when aligned).
export function readSafetensors(buffer) {
  if (buffer.byteLength < 8) throw new SafetensorsError("not a safetensors file: fewer than 8 bytes");
  const size = new DataView(buffer).getBigUint64(0, true);
  if (size > BigInt(Math.min(MAX_HEADER, buffer.byteLength - 8))) {
    throw new SafetensorsError(`safetensors header of ${size} bytes does not fit the ${buffer.byteLength}-byte file`);
  }
  const n = Number(size);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, n)));
  const start = 8 + n;
  const tensors = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const Type = TYPES[entry.dtype];
    if (!Type) throw new SafetensorsError(`tensor ${name}: dtype ${entry.dtype} is not read here`);
    const count = entry.shape.reduce((p, d) => p * d, 1);
    const [a, b] = entry.data_offsets;
    if (b - a !== count * Type.BYTES_PER_ELEMENT || a < 0 || start + b > buffer.byteLength) {
      throw new SafetensorsError(`tensor ${name}: offsets ${a}..${b} do not hold shape [${entry.shape}] of ${entry.dtype}`);
    }
    const at = start + a;
    const data = at % Type.BYTES_PER_ELEMENT === 0
      ? new Type(buffer, at, count)
      : new Type(buffer.slice(at, start + b)); // misaligned: the one copy
    tensors[name] = { dtype: entry.dtype, shape: entry.shape, data };
  }
  return { metadata: header.__metadata__ ?? {}, tensors };
}

// A (rows, cols) tensor as an Array of row views (subarrays: no copy), so code written for
// JSON's [[...], ...] reads it unchanged: m[t][u], m[t].length, m.map(...).
export function rows({ shape, data }) {
  const [r, c = 1] = shape.length === 1 ? [1, shape[0]] : shape;
  const out = new Array(r);
  for (let k = 0; k < r; k++) out[k] = data.subarray(k * c, (k + 1) * c);
  return out;
}

// POST /api/v1/trace's safetensors answer -> the JSON answer's shape (cell, sizes, steps,
// tokens, layers[k][field][t][u] and layers[k].backward[field][t][u], num_directions, h_n, c_n,
// readout), with rows as typed-array views.
export function traceFromSafetensors(buffer) {
  const { metadata: meta, tensors } = readSafetensors(buffer);
  const layers = Array.from({ length: Number(meta.num_layers) }, () => ({}));
  const order = meta.fields ? JSON.parse(meta.fields) : null;
  const names = Object.keys(tensors).filter((name) => name.startsWith("layers."));
  const fieldOf = (name) => name.split(".").at(-1);
  // The JSON answer's key order: the forward fields, then backward with its fields.
  const rank = (name) => (name.includes(".backward.") ? order.length : 0) + order.indexOf(fieldOf(name));
  if (order) names.sort((a, b) => rank(a) - rank(b));
  for (const name of names) {
    const parts = name.split("."); // layers.k.field, or layers.k.backward.field
    const layer = layers[Number(parts[1])];
    if (parts.length === 4) (layer[parts[2]] ??= {})[parts[3]] = rows(tensors[name]);
    else layer[parts[2]] = rows(tensors[name]);
  }
  const trace = {
    cell: meta.cell,
    input_size: Number(meta.input_size),
    hidden_size: Number(meta.hidden_size),
    num_layers: Number(meta.num_layers),
    dtype: meta.dtype,
    steps: Number(meta.steps),
    layers,
    h_n: rows(tensors.h_n),
    c_n: tensors.c_n ? rows(tensors.c_n) : null,
  };
  if (meta.num_directions) trace.num_directions = Number(meta.num_directions);
  if (meta.proj_size) trace.proj_size = Number(meta.proj_size); // an LSTM with a projection
  if (meta.tokens) trace.tokens = JSON.parse(meta.tokens);
  if (tensors["readout.logits"]) {
    trace.readout = { logits: rows(tensors["readout.logits"]), probs: rows(tensors["readout.probs"]) };
  }
  return trace;
}

// {name: {dtype: "F32" | "F64", rows: [[...], ...]}} and text metadata -> an ArrayBuffer in
// the safetensors layout (the header padded with spaces to 8 bytes, tensors in order).
export function writeSafetensors(tensors, metadata = {}) {
  const header = { __metadata__: metadata };
  let offset = 0;
  const parts = Object.entries(tensors).map(([name, { dtype, rows: data }]) => {
    const Type = TYPES[dtype];
    const shape = [data.length, data.length ? data[0].length : 0];
    const size = shape[0] * shape[1] * Type.BYTES_PER_ELEMENT;
    header[name] = { dtype, shape, data_offsets: [offset, offset + size] };
    offset += size;
    return { Type, shape, data };
  });
  let text = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(text.length / 8) * 8).fill(0x20);
  padded.set(text);
  text = padded;
  const out = new ArrayBuffer(8 + text.length + offset);
  new DataView(out).setBigUint64(0, BigInt(text.length), true);
  new Uint8Array(out, 8, text.length).set(text);
  let at = 8 + text.length;
  for (const { Type, shape, data } of parts) {
    const view = new Type(out, at, shape[0] * shape[1]);
    data.forEach((row, r) => view.set(row, r * shape[1]));
    at += view.byteLength;
  }
  return out;
}
