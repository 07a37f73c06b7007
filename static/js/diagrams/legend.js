// Colour legends for the two scales: gates in [0, 1] and signed values in [-1, 1].
import d3 from "../d3.js";
import { gateScale, signedScale } from "../config.js";

function ramp(container, { scale, domain, title, id }) {
  const width = 180;
  const svg = d3.select(container).append("svg")
    .attr("id", id).attr("class", "legend").attr("viewBox", `0 0 ${width + 20} 42`)
    .attr("role", "img").attr("aria-label", title);
  const gradId = `${id}-gradient`;
  const grad = svg.append("defs").append("linearGradient").attr("id", gradId);
  d3.range(0, 1.0001, 0.1).forEach((p) => {
    grad.append("stop").attr("offset", `${p * 100}%`)
      .attr("stop-color", scale(domain[0] + p * (domain[1] - domain[0])));
  });
  svg.append("text").attr("x", 10).attr("y", 10).attr("class", "legend-title").text(title);
  svg.append("rect").attr("x", 10).attr("y", 14).attr("width", width).attr("height", 10)
    .attr("fill", `url(#${gradId})`).attr("stroke", "#888").attr("stroke-width", 0.5);
  const x = d3.scaleLinear().domain(domain).range([10, 10 + width]);
  svg.append("g").attr("transform", "translate(0,24)").attr("class", "legend-axis")
    .call(d3.axisBottom(x).ticks(domain[0] < 0 ? 5 : 3).tickSize(3));
}

export function drawLegends(container, { gateTitle, signedTitle }) {
  container.replaceChildren();
  ramp(container, { scale: gateScale, domain: [0, 1], title: gateTitle, id: "legend-gate" });
  ramp(container, { scale: signedScale, domain: [-1, 1], title: signedTitle, id: "legend-signed" });
}
