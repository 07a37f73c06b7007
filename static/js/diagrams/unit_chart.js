// One unit over time: its gates (thin) and its states C and h (thick), with the time cursor;
// when a clamp is on, the original trace is drawn dashed beside the recomputed one.
import d3 from "../d3.js";
import { colourOf } from "../config.js";

const M = { left: 36, right: 40, top: 10, bottom: 22 };
const LINES = [
  { field: "r", colour: "#CC79A7", width: 1.2 },
  { field: "z", colour: "#56B4E9", width: 1.2 },
  { field: "f", colour: "#0072B2", width: 1.2 },
  { field: "i", colour: "#E69F00", width: 1.2 },
  { field: "o", colour: "#009E73", width: 1.2 },
  { field: "c", colour: "#5e3c99", width: 2.4 },
  { field: "h", colour: "#b35806", width: 2.4 },
];

const LABEL_GAP = 12; // viewBox units between the baselines of two end-of-line labels

// Labels {y} sorted and pushed apart to at least `gap`, kept within [top, bottom].
export function spread(labels, gap, top, bottom) {
  const out = labels.map((l) => ({ ...l })).sort((a, b) => a.y - b.y);
  for (let k = 0; k < out.length; k += 1) {
    out[k].y = Math.max(out[k].y, k ? out[k - 1].y + gap : top);
  }
  for (let k = out.length - 1; k >= 0; k -= 1) {
    out[k].y = Math.min(out[k].y, k < out.length - 1 ? out[k + 1].y - gap : bottom);
  }
  return out;
}

export function drawUnitChart(svg, { layer, original, unit, t, onPick }) {
  const W = svg.viewBox.baseVal.width || 480;
  const H = svg.viewBox.baseVal.height || 200;
  const root = d3.select(svg);
  root.selectAll("*").remove();
  const T = layer.h.length;
  const series = (m) => m.map((row) => row[unit]);
  let lo = -1, hi = 1;
  for (const f of ["c", "h"]) for (const m of [layer[f], original?.[f]]) if (m) for (const v of series(m)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const x = d3.scaleLinear().domain([0, Math.max(1, T - 1)]).range([M.left, W - M.right]);
  const y = d3.scaleLinear().domain([lo, hi]).nice().range([H - M.bottom, M.top]);
  root.append("g").attr("transform", `translate(0,${H - M.bottom})`).call(d3.axisBottom(x).ticks(6));
  root.append("g").attr("transform", `translate(${M.left},0)`).call(d3.axisLeft(y).ticks(5));
  root.append("line").attr("class", "zero").attr("x1", M.left).attr("x2", W - M.right).attr("y1", y(0)).attr("y2", y(0));
  const line = d3.line().x((_, k) => x(k)).y((v) => y(v));
  const labels = [];
  for (const spec of LINES) {
    if (!layer[spec.field]) continue;
    if (original?.[spec.field]) {
      root.append("path").attr("class", "unit-line original").attr("d", line(series(original[spec.field])))
        .attr("stroke", spec.colour).attr("stroke-width", spec.width).attr("stroke-dasharray", "4 3");
    }
    const values = series(layer[spec.field]);
    root.append("path").attr("class", "unit-line").attr("data-field", spec.field).attr("d", line(values))
      .attr("stroke", spec.colour).attr("stroke-width", spec.width);
    labels.push({ spec, y: y(values[T - 1]) + 4 });
  }
  // End-of-line labels, moved apart where lines end close together so none hides another.
  for (const { spec, y: at } of spread(labels, LABEL_GAP, M.top + 8, H - M.bottom)) {
    root.append("text").attr("class", "line-label").attr("x", W - M.right + 4).attr("y", at)
      .attr("fill", spec.colour).attr("data-field", spec.field).text(spec.field === "c" ? "C" : spec.field);
  }
  const cursor = root.append("line").attr("id", "unit-cursor").attr("class", "cursor")
    .attr("y1", M.top).attr("y2", H - M.bottom);
  const dot = root.append("circle").attr("class", "cursor-dot").attr("r", 4).attr("stroke", "#222");
  root.append("rect").attr("class", "hit-area").attr("x", M.left).attr("y", M.top)
    .attr("width", W - M.left - M.right).attr("height", H - M.top - M.bottom)
    .on("click", (ev) => onPick?.(Math.round(x.invert(d3.pointer(ev)[0]))));
  const move = (step) => {
    cursor.attr("x1", x(step)).attr("x2", x(step));
    const v = (layer.c ?? layer.h)[step]?.[unit];
    dot.attr("cx", x(step)).attr("cy", y(v ?? 0)).attr("fill", colourOf("c", v ?? 0));
  };
  move(t);
  return { setCursor: move };
}
