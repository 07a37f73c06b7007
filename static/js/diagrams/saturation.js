// Gate saturation (Karpathy et al.): for each unit, the fraction of steps a gate is below 0.1
// (left-saturated) against the fraction above 0.9 (right-saturated). One mark per unit and gate.
import d3 from "../d3.js";

const GATES = [
  { field: "f", colour: "#0072B2", symbol: d3.symbolCircle }, // Okabe-Ito: colour-blind safe
  { field: "i", colour: "#E69F00", symbol: d3.symbolSquare },
  { field: "o", colour: "#009E73", symbol: d3.symbolTriangle },
  { field: "r", colour: "#CC79A7", symbol: d3.symbolDiamond },
  { field: "z", colour: "#56B4E9", symbol: d3.symbolStar },
];
const M = { left: 42, right: 12, top: 26, bottom: 38 };

export function saturationPoints(layer) {
  const points = [];
  for (const { field } of GATES) {
    const m = layer[field];
    if (!m) continue;
    const T = m.length;
    const H = T ? m[0].length : 0;
    for (let u = 0; u < H; u++) {
      let low = 0, high = 0;
      for (let t = 0; t < T; t++) {
        const v = m[t][u];
        if (v < 0.1) low++;
        else if (v > 0.9) high++;
      }
      points.push({ field, unit: u, low: low / T, high: high / T });
    }
  }
  return points;
}

export function drawSaturation(svg, { layer, unit, labels, onPick, onHover, onLeave }) {
  const [, , W, H] = svg.viewBox.baseVal ? [0, 0, svg.viewBox.baseVal.width, svg.viewBox.baseVal.height] : [0, 0, 320, 260];
  const root = d3.select(svg);
  root.selectAll("*").remove();
  const x = d3.scaleLinear().domain([0, 1]).range([M.left, W - M.right]);
  const y = d3.scaleLinear().domain([0, 1]).range([H - M.bottom, M.top]);
  root.append("g").attr("transform", `translate(0,${H - M.bottom})`).call(d3.axisBottom(x).ticks(5));
  root.append("g").attr("transform", `translate(${M.left},0)`).call(d3.axisLeft(y).ticks(5));
  root.append("line").attr("class", "diag")
    .attr("x1", x(0)).attr("y1", y(1)).attr("x2", x(1)).attr("y2", y(0));
  root.append("text").attr("class", "axis-label").attr("x", (M.left + W - M.right) / 2).attr("y", H - 4)
    .attr("text-anchor", "middle").text(labels.x);
  root.append("text").attr("class", "axis-label").attr("transform", `translate(11,${(H - M.bottom + M.top) / 2}) rotate(-90)`)
    .attr("text-anchor", "middle").text(labels.y);
  const key = root.append("g").attr("class", "sat-key").attr("transform", `translate(${M.left + 6},12)`);
  GATES.filter((g) => layer[g.field]).forEach((g, k) => {
    const item = key.append("g").attr("transform", `translate(${k * 52},0)`);
    item.append("path").attr("d", d3.symbol(g.symbol, 40)()).attr("fill", g.colour);
    item.append("text").attr("x", 8).attr("y", 4).text(g.field);
  });
  const colour = Object.fromEntries(GATES.map((g) => [g.field, g]));
  const jitter = (p) => ((p.unit * 7919 + p.field.charCodeAt(0) * 31) % 11 - 5) * 0.0012;
  root.append("g").selectAll("path").data(saturationPoints(layer)).join("path")
    .attr("class", (p) => `sat-point${p.unit === unit ? " selected" : ""}`)
    .attr("data-unit", (p) => p.unit).attr("data-field", (p) => p.field)
    .attr("transform", (p) => `translate(${x(p.low + jitter(p))},${y(p.high + jitter(p))})`)
    .attr("d", (p) => d3.symbol(colour[p.field].symbol, p.unit === unit ? 90 : 34)())
    .attr("fill", (p) => colour[p.field].colour)
    .on("click", (_, p) => onPick?.(p.unit))
    .on("mousemove", (ev, p) => onHover?.(ev, p))
    .on("mouseleave", () => onLeave?.());
}
