// A line chart for one /compare panel. Five panels share a row on a laptop, so a chart gets
// about 220 px; a fixed 640-unit viewBox (learn/chart.js) would shrink its 10 px text to 4 px.
// Here the viewBox always equals the size CSS gives the <svg> (width of the panel, height
// var(--compare-chart-height)), so axis ticks and the key keep their CSS size (10 px) at any
// width. The elements are drawn once with stable ids; a resize only moves them.
import d3 from "../d3.js";
import { COMPARE_CHART } from "../config.js";

// series: [{name, values, colour, dash, label}]; id: prefix of the chart's element ids.
export function createLineChart(svg, series, { id, log = false, key = true } = {}) {
  const C = COMPARE_CHART;
  const top = C.margin.top + (key ? C.keyHeight : 0);
  const root = d3.select(svg);
  root.selectAll("*").remove();
  svg.id = id;
  const T = Math.max(...series.map((s) => s.values.length), 1);
  const finite = (v) => Number.isFinite(v) && (!log || v > 0);
  const all = series.flatMap((s) => s.values).filter(finite);
  let lo = all.length ? d3.min(all) : 0;
  let hi = all.length ? d3.max(all) : 1;
  if (lo === hi) { lo -= 1; hi += 1; }
  const x = d3.scaleLinear().domain([0, Math.max(1, T - 1)]);
  const y = log
    ? d3.scaleLog().domain([Math.max(lo, 1e-12), hi]).nice().clamp(true)
    : d3.scaleLinear().domain([lo, hi]).nice();

  const xAxis = root.append("g").attr("id", `${id}-x`).attr("class", "axis axis-x");
  const yAxis = root.append("g").attr("id", `${id}-y`).attr("class", "axis axis-y");
  const line = d3.line().defined(finite).x((_, k) => x(k)).y((v) => y(v));
  const paths = series.map((s) => root.append("path").attr("id", `${id}-${s.name}`).attr("class", "series-line")
    .attr("data-series", s.name).attr("fill", "none").attr("stroke", s.colour).attr("stroke-width", 2)
    .attr("stroke-dasharray", s.dash ?? null));
  // The key runs along the top, outside the plot, so it never hides a line.
  if (key) {
    const keys = root.append("g").attr("id", `${id}-key`).attr("class", "chart-key")
      .attr("transform", `translate(${C.margin.left},${C.margin.top + 10})`);
    let x0 = 0;
    series.forEach((s) => {
      const g = keys.append("g").attr("transform", `translate(${x0},0)`);
      g.append("line").attr("x1", 0).attr("x2", C.keySwatch).attr("y1", -4).attr("y2", -4)
        .attr("stroke", s.colour).attr("stroke-width", 2).attr("stroke-dasharray", s.dash ?? null);
      const label = g.append("text").attr("x", C.keySwatch + 4).attr("y", 0).attr("class", "axis-label").text(s.label ?? s.name);
      x0 += C.keySwatch + 4 + C.keyGap + (label.node().getComputedTextLength?.() || 60);
    });
  }
  const cursor = root.append("line").attr("id", `${id}-cursor`).attr("class", "cursor chart-cursor");

  let step = 0;
  let size = [0, 0];
  const move = (t) => {
    step = t;
    cursor.attr("x1", x(t)).attr("x2", x(t)).attr("data-t", t);
  };
  // Match the viewBox to the rendered size and place everything for it; a no-op when the
  // size has not changed or the chart is not on screen.
  const layout = () => {
    const box = svg.getBoundingClientRect();
    const W = Math.round(box.width) || (size[0] ? 0 : C.fallback[0]);
    const H = Math.round(box.height) || (size[1] ? 0 : C.fallback[1]);
    if (!W || !H || (W === size[0] && H === size[1])) return;
    size = [W, H];
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    x.range([C.margin.left, W - C.margin.right]);
    y.range([H - C.margin.bottom, top]);
    const xTicks = Math.max(2, Math.floor((W - C.margin.left - C.margin.right) / C.xTickSpacing));
    const yTicks = Math.max(2, Math.floor((H - C.margin.bottom - top) / C.yTickSpacing));
    xAxis.attr("transform", `translate(0,${H - C.margin.bottom})`).call(d3.axisBottom(x).ticks(xTicks));
    yAxis.attr("transform", `translate(${C.margin.left},0)`)
      .call(log ? d3.axisLeft(y).ticks(yTicks, ".0e") : d3.axisLeft(y).ticks(yTicks));
    paths.forEach((p, k) => p.attr("d", line(series[k].values)));
    cursor.attr("y1", top).attr("y2", H - C.margin.bottom);
    move(step);
  };
  layout();
  if (globalThis.ResizeObserver) {
    const watch = new ResizeObserver(() => {
      if (!svg.isConnected) { watch.disconnect(); return; }
      layout();
    });
    watch.observe(svg);
  }
  return { setCursor: move, layout };
}
