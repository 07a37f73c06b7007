// Export the diagram (SVG with its styles inlined, or PNG) and the trace (JSON or CSV).
const STYLE_PROPS = [
  "fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "opacity",
  "font-size", "font-family", "font-weight", "font-style", "text-anchor", "display",
];

export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// A standalone copy of an SVG: computed styles inlined, a white background, explicit size.
export function standaloneSvg(svg) {
  const clone = svg.cloneNode(true);
  const src = svg.querySelectorAll("*");
  const dst = clone.querySelectorAll("*");
  src.forEach((node, k) => {
    const cs = getComputedStyle(node);
    const style = STYLE_PROPS.map((p) => `${p}:${cs.getPropertyValue(p)}`).join(";");
    dst[k].setAttribute("style", style);
    dst[k].removeAttribute("class");
  });
  const [, , w, h] = svg.getAttribute("viewBox").split(/\s+/).map(Number);
  clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  clone.setAttribute("width", w);
  clone.setAttribute("height", h);
  clone.querySelectorAll(".hit").forEach((n) => n.remove());
  // Compact strips are canvases inside the SVG: carry their pixels over as images.
  const canvases = svg.querySelectorAll("foreignObject canvas");
  clone.querySelectorAll("foreignObject").forEach((fo, k) => {
    const image = document.createElementNS("http://www.w3.org/2000/svg", "image");
    for (const a of ["x", "y", "width", "height"]) image.setAttribute(a, fo.getAttribute(a));
    image.setAttribute("href", canvases[k].toDataURL("image/png"));
    image.setAttribute("preserveAspectRatio", "none");
    image.setAttribute("style", "image-rendering:pixelated");
    fo.replaceWith(image);
  });
  const bg = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  bg.setAttribute("width", "100%");
  bg.setAttribute("height", "100%");
  bg.setAttribute("fill", "#ffffff");
  clone.insertBefore(bg, clone.firstChild);
  return { text: new XMLSerializer().serializeToString(clone), width: w, height: h };
}

export function exportSvg(svg, filename) {
  const { text } = standaloneSvg(svg);
  download(new Blob([text], { type: "image/svg+xml" }), filename);
}

export function exportPng(svg, filename, scale = 2) {
  const { text, width, height } = standaloneSvg(svg);
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = width * scale;
      canvas.height = height * scale;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => {
        download(blob, filename);
        resolve();
      }, "image/png");
    };
    img.onerror = () => reject(new Error("could not render the SVG"));
    img.src = url;
  });
}

export function downloadJson(data, filename) {
  // Rows of a binary trace are typed arrays: written as JSON lists, like the JSON answer's.
  const lists = (_, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v);
  download(new Blob([JSON.stringify(data, lists)], { type: "application/json" }), filename);
}

// Long format: one row per layer, step and unit (and direction, for a bidirectional model);
// one column per traced field.
export function traceToCsv(trace) {
  const lines = [];
  const bi = trace.layers.some((layer) => layer.backward);
  // float32 rows hold float32 numbers: 9 significant digits name each one exactly.
  const num = trace.dtype === "float32" ? (v) => Number(v.toPrecision(9)) : (v) => v;
  const fields = Object.keys(trace.layers[0]).filter((f) => f !== "backward");
  const dirCol = bi ? ["direction"] : [];
  lines.push(["layer", ...dirCol, "step", "token", "unit", ...fields].join(","));
  trace.layers.forEach((layer, l) => {
    const parts = bi ? [["forward", layer], ["backward", layer.backward]] : [[null, layer]];
    for (const [dir, values] of parts) {
      const T = values[fields[0]].length;
      const H = values[fields[0]][0].length;
      for (let t = 0; t < T; t++) {
        const tok = trace.tokens ? JSON.stringify(String(trace.tokens[t])) : "";
        const head = bi ? [l, dir, t, tok] : [l, t, tok];
        // with a projection h has fewer units than the gates: its cells past them stay empty
        const cell = (f, u) => (values[f][t][u] === undefined ? "" : num(values[f][t][u]));
        for (let u = 0; u < H; u++) lines.push([...head, u, ...fields.map((f) => cell(f, u))].join(","));
      }
    }
  });
  return `${lines.join("\n")}\n`;
}

export function downloadCsv(trace, filename) {
  download(new Blob([traceToCsv(trace)], { type: "text/csv" }), filename);
}
