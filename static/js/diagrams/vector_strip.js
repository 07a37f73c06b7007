// A vector drawn as small cells, one per unit: a grid of bordered cells up to STRIP.gridMax
// units, a compact strip without borders above. Built once; paint() only changes fills.
import { STRIP, lutFor, lutIndex } from "../config.js";
import { el } from "./svg.js";

export function stripGeometry(units) {
  if (units <= STRIP.cols) {
    const cell = Math.min(STRIP.smallCell, Math.floor(STRIP.width / Math.max(units, 1)));
    return { cols: units, rows: 1, cell, compact: false };
  }
  if (units <= STRIP.gridMax) {
    return { cols: STRIP.cols, rows: Math.ceil(units / STRIP.cols), cell: STRIP.cell, compact: false };
  }
  const cell = units <= 128 ? 2 : 1;
  const cols = STRIP.width / cell;
  return { cols, rows: Math.ceil(units / cols), cell, compact: true };
}

// anchor: where (x, y) sits on the strip: "above" (x, y) is the bottom-left corner,
// "below" the top-left, "left" the middle of the right edge, "right" the middle of the left edge.
function origin(x, y, w, h, anchor) {
  switch (anchor) {
    case "above": return [x, y - h];
    case "left": return [x - w, y - h / 2];
    case "right": return [x, y - h / 2];
    default: return [x, y];
  }
}

export function createStrip(parent, { id, key, x, y, anchor = "below", units, field, caption }) {
  const geo = stripGeometry(units);
  const w = geo.cols * geo.cell;
  const h = geo.rows * geo.cell;
  const [ox, oy] = origin(x, y, w, h, anchor);
  const g = el("g", {
    id, class: `strip${geo.compact ? " compact" : ""}`, "data-key": key,
    transform: `translate(${ox},${oy})`,
  }, parent);
  el("rect", { class: "strip-frame", x: -1, y: -1, width: w + 2, height: h + 2 }, g);
  const cells = new Array(units);
  for (let u = 0; u < units; u++) {
    cells[u] = el("rect", {
      id: `${id}-${u}`, "data-unit": u,
      x: (u % geo.cols) * geo.cell, y: Math.floor(u / geo.cols) * geo.cell,
      width: geo.cell, height: geo.cell,
    }, g);
  }
  const marker = el("rect", { class: "strip-select", width: geo.cell + 2, height: geo.cell + 2, x: -1, y: -1 }, g);
  if (caption) {
    const [cx, cy, ca] = anchor === "left" ? [w, -4, "end"] : [0, -4, "start"];
    const text = el("text", { class: "strip-caption", x: cx, y: cy, "text-anchor": ca }, g);
    text.textContent = caption;
  }
  const last = new Int16Array(units).fill(-1);
  const table = lutFor(field);

  return {
    g, cells, geo, key, field, x: ox, y: oy, width: w, height: h,
    paint(values) {
      for (let u = 0; u < units; u++) {
        const k = values ? lutIndex(table, values[u]) : -2;
        if (k === last[u]) continue;
        last[u] = k;
        if (k === -2) cells[u].setAttribute("fill", "none");
        else cells[u].setAttribute("fill", table.css[k]);
      }
    },
    select(unit) {
      const ok = unit >= 0 && unit < units;
      marker.style.display = ok ? "" : "none";
      if (ok) {
        marker.setAttribute("x", (unit % geo.cols) * geo.cell - 1);
        marker.setAttribute("y", Math.floor(unit / geo.cols) * geo.cell - 1);
      }
    },
  };
}
