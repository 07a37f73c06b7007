// A line chart of the /train page, drawn once with stable ids and then only updated: new
// points move its paths and axes, the marker follows the snapshot being viewed. Like /compare's
// charts (compare/chart.js), its viewBox equals the size CSS gives the <svg>, so its text keeps
// its CSS size at any width.
import d3 from "../d3.js";
import { COMPARE_CHART } from "../config.js";

// series: [{name, colour, dash, label}]; x: fixed domain [0, xMax] unless set later.
// y: [lo, hi] a fixed domain, or null to fit the data; log: a log scale.
export function createChart(svg, { id, series, y: yFixed = null, log = false, xLabel = "" }) {
  const C = COMPARE_CHART;
  const top = C.margin.top + C.keyHeight;
  const root = d3.select(svg);
  root.selectAll("*").remove();
  svg.id = id;
  const x = d3.scaleLinear().domain([0, 1]);
  const y = log ? d3.scaleLog().clamp(true) : d3.scaleLinear();
  y.domain(yFixed ?? (log ? [1e-6, 1] : [0, 1]));
  const band = root.append("rect").attr("id", `${id}-band`).attr("class", "chart-band").attr("visibility", "hidden");
  const xAxis = root.append("g").attr("id", `${id}-x`).attr("class", "axis axis-x");
  const yAxis = root.append("g").attr("id", `${id}-y`).attr("class", "axis axis-y");
  const xTitle = root.append("text").attr("class", "axis-label").attr("text-anchor", "end").text(xLabel);
  const finite = (p) => Number.isFinite(p[1]) && (!log || p[1] > 0);
  const line = d3.line().defined(finite).x((p) => x(p[0])).y((p) => y(p[1]));
  const paths = series.map((s) => root.append("path").attr("id", `${id}-${s.name}`).attr("class", "series-line")
    .attr("data-series", s.name).attr("fill", "none").attr("stroke", s.colour).attr("stroke-width", 2)
    .attr("stroke-dasharray", s.dash ?? null));
  const dots = series.map((s) => root.append("circle").attr("id", `${id}-${s.name}-dot`).attr("r", 3)
    .attr("fill", s.colour).attr("visibility", "hidden"));
  const keys = root.append("g").attr("class", "chart-key").attr("transform", `translate(${C.margin.left},${C.margin.top + 10})`);
  let x0 = 0;
  for (const s of series) {
    const g = keys.append("g").attr("transform", `translate(${x0},0)`);
    g.append("line").attr("x1", 0).attr("x2", C.keySwatch).attr("y1", -4).attr("y2", -4)
      .attr("stroke", s.colour).attr("stroke-width", 2).attr("stroke-dasharray", s.dash ?? null);
    const text = g.append("text").attr("x", C.keySwatch + 4).attr("y", 0).attr("class", "axis-label").text(s.label ?? s.name);
    x0 += C.keySwatch + 4 + C.keyGap + (text.node().getComputedTextLength?.() || 60);
  }
  const marker = root.append("line").attr("id", `${id}-marker`).attr("class", "cursor chart-cursor");

  let data = Object.fromEntries(series.map((s) => [s.name, []]));
  let at = null;
  let gap = null;
  let size = [0, 0];
  let ticksKey = "";

  function draw() {
    const [W, H] = size;
    if (!W) return;
    const yTicks = Math.max(2, Math.floor((H - C.margin.bottom - top) / C.yTickSpacing));
    const xTicks = Math.max(2, Math.floor((W - C.margin.left - C.margin.right) / C.xTickSpacing));
    // Axes are redrawn only when their domain or size changed (most snapshots leave them be).
    const key = `${x.domain()}|${y.domain()}|${W}x${H}`;
    if (key !== ticksKey) {
      ticksKey = key;
      xAxis.attr("transform", `translate(0,${H - C.margin.bottom})`).call(d3.axisBottom(x).ticks(xTicks, "d"));
      yAxis.attr("transform", `translate(${C.margin.left},0)`)
        .call(log ? d3.axisLeft(y).ticks(yTicks, ".0e") : d3.axisLeft(y).ticks(yTicks, "~g"));
      xTitle.attr("x", W - C.margin.right).attr("y", H - C.margin.bottom - 4);
    }
    series.forEach((s, k) => {
      const points = data[s.name] ?? [];
      paths[k].attr("d", points.length ? line(points) : null);
      const p = at === null ? null : points.find((q) => q[0] === at);
      dots[k].attr("visibility", p && finite(p) ? "visible" : "hidden");
      if (p && finite(p)) dots[k].attr("cx", x(p[0])).attr("cy", y(p[1]));
    });
    marker.attr("visibility", at === null ? "hidden" : "visible")
      .attr("x1", x(at ?? 0)).attr("x2", x(at ?? 0)).attr("y1", top).attr("y2", H - C.margin.bottom).attr("data-x", at);
    band.attr("visibility", gap ? "visible" : "hidden");
    if (gap) {
      band.attr("x", x(gap[0])).attr("width", Math.max(0, x(gap[1]) - x(gap[0])))
        .attr("y", top).attr("height", Math.max(0, H - C.margin.bottom - top));
    }
  }

  function layout() {
    const box = svg.getBoundingClientRect();
    const W = Math.round(box.width) || C.fallback[0];
    const H = Math.round(box.height) || C.fallback[1];
    if (W === size[0] && H === size[1]) return;
    size = [W, H];
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    x.range([C.margin.left, W - C.margin.right]);
    y.range([H - C.margin.bottom, top]);
    ticksKey = "";
    draw();
  }
  layout();
  if (globalThis.ResizeObserver) {
    const watch = new ResizeObserver(() => (svg.isConnected ? layout() : watch.disconnect()));
    watch.observe(svg);
  }

  return {
    // next: {name: [[x, y], ...]}; xMax: the x domain's end.
    setData(next, xMax) {
      data = next;
      x.domain([0, Math.max(1, xMax)]);
      if (!yFixed) {
        const values = Object.values(next).flat().map((p) => p[1]).filter((v) => Number.isFinite(v) && (!log || v > 0));
        let lo = values.length ? d3.min(values) : log ? 1e-6 : 0;
        let hi = values.length ? d3.max(values) : 1;
        if (!log) lo = Math.min(0, lo);
        if (lo === hi) hi = log ? lo * 10 : lo + 1;
        y.domain([lo, hi]);
        if (!log) y.nice();
        else y.domain([10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi))]);
      }
      draw();
    },
    setMarker(value) {
      at = value;
      draw();
    },
    // A shaded span of x (the probe's gap), or null.
    setBand(span) {
      gap = span;
      draw();
    },
    layout,
  };
}
