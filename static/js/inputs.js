// Input sequences for models without a vocabulary: parsed from typed or pasted CSV, or
// generated (sine, steps, noise). Rows are steps, columns are input features.

export class InputError extends Error {
  constructor(key, vars) {
    super(key);
    this.key = key;
    this.vars = vars;
  }
}

// "0.1, 0.2\n0.3 0.4" or "0.1;0.3" (one feature): commas, tabs or spaces between numbers.
export function parseNumbers(text, width = null) {
  const lines = text.split(/\r?\n|;/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (!lines.length) throw new InputError("input.error_empty");
  const rows = lines.map((line, k) => {
    const row = line.split(/[\s,]+/).filter(Boolean).map(Number);
    const bad = row.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new InputError("input.error_number", { line: k + 1, column: bad + 1 });
    return row;
  });
  const D = width ?? rows[0].length;
  const wrong = rows.findIndex((r) => r.length !== D);
  if (wrong >= 0) throw new InputError("input.error_width", { line: wrong + 1, n: rows[wrong].length, d: D });
  return rows;
}

export function toCsv(rows, digits = 4) {
  return rows.map((r) => r.map((v) => +v.toFixed(digits)).join(", ")).join("\n");
}

// A small seeded generator (mulberry32) so generated noise is part of the permalink; the learn
// pages draw their random weights from it too.
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Feature j of a sine is sin(t / (2 + j)) for even j and cos(t / (2 + j)) for odd j;
// steps are square waves of period 8 + 4j; noise is uniform in [-1, 1].
export function generate(kind, steps, width, noise = 0, seed = 0) {
  const rand = seededRandom(seed + 1);
  return Array.from({ length: steps }, (_, t) =>
    Array.from({ length: width }, (_, j) => {
      let v;
      if (kind === "steps") v = Math.floor(t / ((8 + 4 * j) / 2)) % 2 === 0 ? 1 : -1;
      else if (kind === "noise") v = 2 * rand() - 1;
      else v = j % 2 === 0 ? Math.sin(t / (2 + j)) : Math.cos(t / (2 + j));
      return noise > 0 && kind !== "noise" ? v + noise * (2 * rand() - 1) : v;
    }),
  );
}

// "0-3, 7" -> [0, 1, 2, 3, 7]; "" -> null (all). Throws InputError naming the field.
export function parseIndexList(text, limit, field) {
  const s = text.trim();
  if (!s || s === "*") return null;
  const out = new Set();
  for (const part of s.split(/[\s,]+/).filter(Boolean)) {
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (!m) throw new InputError("clamp.error_list", { field });
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b >= limit) throw new InputError("clamp.error_range", { field, limit: limit - 1 });
    for (let k = a; k <= b; k++) out.add(k);
  }
  return [...out].sort((x, y) => x - y);
}

// The clamp as kept in the URL: "f:1:0-3:5-9" (field : value : units : steps, empty = all).
export function clampToString(c) {
  return c ? [c.field, c.value, c.unitsText ?? "", c.stepsText ?? ""].join(":") : "";
}

export function clampFromString(s) {
  if (!s) return null;
  const [field, value, unitsText = "", stepsText = ""] = s.split(":");
  return { field, value: Number(value), unitsText, stepsText };
}

// A text cut into a vocabulary's tokens: characters, or words (split at whitespace) when the
// vocabulary has tokens longer than one character. A last word still being typed that is not
// (yet) in the vocabulary is left out rather than reported; any other unknown token is.
export function tokenize(text, vocab) {
  const known = new Set(vocab);
  if (!vocab.some((tok) => tok.length > 1)) {
    const tokens = [...text];
    return { tokens, words: false, unknown: tokens.find((ch) => !known.has(ch)) };
  }
  const parts = text.split(/\s+/).filter(Boolean);
  const typing = !/\s$/.test(text);
  const bad = parts.findIndex((w) => !known.has(w));
  if (bad === parts.length - 1 && typing) return { tokens: parts.slice(0, -1), words: true };
  return { tokens: parts, words: true, unknown: bad >= 0 ? parts[bad] : undefined };
}
