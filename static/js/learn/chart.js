// A small line chart over time (d3): several named series, optional log scale, a time cursor.
import d3 from "../d3.js";

const M = { left: 50, right: 16, top: 30, bottom: 26 };

// series: [{name, values, colour, dash, label}]
export function drawLines(svg, series, { log = false, t = 0, yLabel = "" } = {}) {
  const W = 640;
  const H = 240;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const root = d3.select(svg);
  root.selectAll("*").remove();
  const T = Math.max(...series.map((s) => s.values.length), 1);
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = all.length ? d3.min(all) : 0;
  let hi = all.length ? d3.max(all) : 1;
  if (lo === hi) { lo -= 1; hi += 1; }
  const x = d3.scaleLinear().domain([0, Math.max(1, T - 1)]).range([M.left, W - M.right]);
  const y = log
    ? d3.scaleLog().domain([Math.max(lo, 1e-12), hi]).nice().range([H - M.bottom, M.top]).clamp(true)
    : d3.scaleLinear().domain([lo, hi]).nice().range([H - M.bottom, M.top]);
  root.append("g").attr("transform", `translate(0,${H - M.bottom})`).call(d3.axisBottom(x).ticks(8));
  root.append("g").attr("transform", `translate(${M.left},0)`).call(log ? d3.axisLeft(y).ticks(5, ".0e") : d3.axisLeft(y).ticks(5));
  const line = d3.line().defined((v) => Number.isFinite(v) && (!log || v > 0)).x((_, k) => x(k)).y((v) => y(v));
  series.forEach((s) => {
    root.append("path").attr("class", "series-line").attr("data-series", s.name).attr("d", line(s.values))
      .attr("fill", "none").attr("stroke", s.colour).attr("stroke-width", 2).attr("stroke-dasharray", s.dash ?? null);
  });
  // The key runs along the top, outside the plot, so it never hides a line.
  const keys = root.append("g").attr("class", "chart-key").attr("transform", `translate(${M.left},14)`);
  let x0 = 0;
  series.forEach((s) => {
    const g = keys.append("g").attr("transform", `translate(${x0},0)`);
    g.append("line").attr("x1", 0).attr("x2", 18).attr("y1", -4).attr("y2", -4).attr("stroke", s.colour).attr("stroke-width", 2).attr("stroke-dasharray", s.dash ?? null);
    const label = g.append("text").attr("x", 22).attr("y", 0).attr("class", "axis-label").text(s.label ?? s.name);
    x0 += 30 + (label.node().getComputedTextLength?.() || 60);
  });
  if (yLabel) keys.append("text").attr("class", "axis-label").attr("x", x0 + 10).attr("y", 0).text(yLabel);
  const cursor = root.append("line").attr("class", "cursor chart-cursor").attr("y1", M.top).attr("y2", H - M.bottom);
  const move = (step) => cursor.attr("x1", x(step)).attr("x2", x(step)).attr("data-t", step);
  move(t);
  return { setCursor: move };
}
