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
// "below" the top-left, "left" the middle of the right edge, "right" the middle of the left edge;
// "above-end" and "below-end" the bottom-right and top-right corners (a mirrored drawing).
function origin(x, y, w, h, anchor) {
  switch (anchor) {
    case "above": return [x, y - h];
    case "above-end": return [x - w, y - h];
    case "below-end": return [x - w, y];
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
  const table = lutFor(field);
  const marker = () => el("rect", { class: "strip-select", width: geo.cell + 2, height: geo.cell + 2, x: -1, y: -1 }, g);
  const api = geo.compact ? compactCells(g, geo, units, w, h, table) : rectCells(g, geo, units, id, table);
  const select = marker();
  const hover = marker();
  hover.setAttribute("class", "strip-hover");
  hover.style.display = "none";
  const place = placeMarker(geo, units);
  if (caption) {
    // Above the strip, except under a line (anchor "below"), where it goes beneath the strip
    const [cx, cy, ca] = {
      left: [w, -4, "end"], below: [0, h + 13, "start"], "below-end": [w, h + 13, "end"], "above-end": [w, -4, "end"],
    }[anchor] ?? [0, -4, "start"];
    const text = el("text", { class: "strip-caption", x: cx, y: cy, "text-anchor": ca }, g);
    text.textContent = caption;
  }
  return {
    g, geo, key, field, x: ox, y: oy, width: w, height: h,
    paint: api.paint,
    select: (unit) => place(select, unit),
    // The unit under the pointer, outlined in every strip so its path through the cell shows.
    highlight: (unit) => place(hover, unit),
  };
}

function placeMarker(geo, units) {
  return (node, unit) => {
    const ok = unit >= 0 && unit < units;
    node.style.display = ok ? "" : "none";
    if (ok) {
      node.setAttribute("x", (unit % geo.cols) * geo.cell - 1);
      node.setAttribute("y", Math.floor(unit / geo.cols) * geo.cell - 1);
    }
  };
}

// Up to STRIP.gridMax units: one SVG rect per unit, each with its own id and data-unit.
function rectCells(g, geo, units, id, table) {
  const cells = new Array(units);
  for (let u = 0; u < units; u++) {
    cells[u] = el("rect", {
      id: `${id}-${u}`, "data-unit": u,
      x: (u % geo.cols) * geo.cell, y: Math.floor(u / geo.cols) * geo.cell,
      width: geo.cell, height: geo.cell,
    }, g);
  }
  const last = new Int16Array(units).fill(-1);
  return {
    paint(values) {
      for (let u = 0; u < units; u++) {
        const k = values ? lutIndex(table, values[u]) : -2;
        if (k === last[u]) continue;
        last[u] = k;
        cells[u].setAttribute("fill", k === -2 ? "none" : table.css[k]);
      }
    },
  };
}

// Many units: one pixel per unit on a small canvas inside the SVG, so a new step repaints a
// few hundred bytes instead of restyling hundreds of elements. The hovered unit is worked
// out from the pointer and left in data-unit for the page's tooltip.
function compactCells(g, geo, units, w, h, table) {
  const fo = el("foreignObject", { x: 0, y: 0, width: w, height: h, class: "strip-canvas" }, g);
  const canvas = document.createElementNS("http://www.w3.org/1999/xhtml", "canvas");
  canvas.width = geo.cols;
  canvas.height = geo.rows;
  canvas.style.cssText = `width:${w}px;height:${h}px;display:block;image-rendering:pixelated`;
  fo.appendChild(canvas);
  canvas.addEventListener("pointermove", (ev) => {
    const u = Math.floor(ev.offsetY / geo.cell) * geo.cols + Math.floor(ev.offsetX / geo.cell);
    canvas.dataset.unit = String(Math.min(units - 1, Math.max(0, u)));
  });
  canvas.addEventListener("click", (ev) => {
    const u = Math.floor(ev.offsetY / geo.cell) * geo.cols + Math.floor(ev.offsetX / geo.cell);
    canvas.dataset.unit = String(Math.min(units - 1, Math.max(0, u)));
  });
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(geo.cols, geo.rows);
  return {
    paint(values) {
      const px = img.data;
      for (let u = 0; u < units; u++) {
        const p = u * 4;
        if (!values) { px[p + 3] = 0; continue; }
        const k = lutIndex(table, values[u]) * 3;
        px[p] = table.rgb[k];
        px[p + 1] = table.rgb[k + 1];
        px[p + 2] = table.rgb[k + 2];
        px[p + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    },
  };
}
