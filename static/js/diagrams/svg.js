// Tiny helpers to build SVG once (stable ids) without innerHTML.
export const SVG_NS = "http://www.w3.org/2000/svg";

export function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  if (parent) parent.appendChild(node);
  return node;
}

export function label(parent, x, y, content, cls = "label", anchor = "middle") {
  const node = el("text", { x, y, class: cls, "text-anchor": anchor }, parent);
  node.textContent = content;
  return node;
}

export function polyline(points) {
  return points.map((p) => p.join(",")).join(" ");
}
