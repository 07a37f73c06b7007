// Visual constants in one place; colours come from CSS variables so a theme can change them.
export const FIELDS = ["i", "f", "g", "o", "c", "h"];
export const GATE_FIELDS = new Set(["i", "f", "o"]); // live in [0, 1]
export const SYMBOLS = { i: "i_t", f: "f_t", g: "C̃_t", o: "o_t", c: "C_t", h: "h_t" };
export const DECIMALS = 4;

// Sequential scale for gates in [0, 1] (light to dark blue), diverging for [-1, 1]
// (orange, white, purple): both readable with the common colour-vision deficiencies.
export function gateColour(v) {
  const t = Math.min(1, Math.max(0, v));
  const l = 96 - t * 62;
  return `hsl(212 70% ${l}%)`;
}

export function signedColour(v) {
  const t = Math.max(-1, Math.min(1, v));
  return t >= 0 ? `hsl(270 55% ${100 - t * 55}%)` : `hsl(30 90% ${100 + t * 48}%)`;
}
