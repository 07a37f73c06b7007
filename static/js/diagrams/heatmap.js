// A canvas heatmap of one field: units (rows) x time (columns), with the time cursor and the
// selected unit. The picture is painted once per trace; the cursor is a moved element.
import { lutFor, lutIndex } from "../config.js";

export function createHeatmap(container, { id, field, title, onPick, onHover, onLeave }) {
  const wrap = document.createElement("div");
  wrap.className = "heatmap";
  wrap.id = id;
  wrap.dataset.field = field;
  const caption = document.createElement("div");
  caption.className = "heatmap-title";
  caption.textContent = title;
  const frame = document.createElement("div");
  frame.className = "heatmap-frame";
  const canvas = document.createElement("canvas");
  canvas.setAttribute("aria-label", title);
  canvas.setAttribute("role", "img");
  const cursor = document.createElement("div");
  cursor.className = "heatmap-cursor";
  const row = document.createElement("div");
  row.className = "heatmap-row";
  frame.append(canvas, cursor, row);
  wrap.append(caption, frame);
  container.appendChild(wrap);

  const source = document.createElement("canvas"); // T x H pixels, drawn scaled
  let T = 0;
  let H = 0;
  let data = null;
  let at = { t: 0, unit: 0 };
  let width = 300;

  function cellAt(ev) {
    const r = canvas.getBoundingClientRect();
    const t = Math.floor(((ev.clientX - r.left) / r.width) * T);
    const unit = Math.floor(((ev.clientY - r.top) / r.height) * H);
    return { t: Math.max(0, Math.min(T - 1, t)), unit: Math.max(0, Math.min(H - 1, unit)) };
  }
  canvas.addEventListener("click", (ev) => data && onPick?.(cellAt(ev)));
  canvas.addEventListener("mousemove", (ev) => {
    if (!data) return;
    const c = cellAt(ev);
    onHover?.(ev, { field, ...c, value: data[c.t][c.unit] });
  });
  canvas.addEventListener("mouseleave", () => onLeave?.());

  function place() {
    if (!T || !H) return;
    // A transform moves the cursor without laying out or repainting the heatmap; the width
    // is the one measured at the last draw (reading it here would force a layout per step).
    const w = width;
    cursor.style.width = `${Math.max(2, w / T)}px`;
    // A step past the end (a shorter trace arrived before the step was clamped) stays inside.
    const step = Math.min(at.t, T - 1);
    cursor.style.transform = `translateX(${((step / T) * w).toFixed(1)}px)`;
    row.style.top = `${(at.unit / H) * 100}%`;
    row.style.height = `max(2px, ${100 / H}%)`;
  }

  function draw() {
    const cssW = Math.max(50, frame.clientWidth || 300);
    width = cssW;
    const cssH = Math.max(40, Math.min(128, H * 10));
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
    canvas.style.height = `${cssH}px`;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (data) ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
    place();
  }

  return {
    el: wrap,
    // matrix: [T][H] values; painted with the field's scale.
    setData(matrix) {
      data = matrix;
      T = matrix?.length ?? 0;
      H = T ? matrix[0].length : 0;
      if (!T) return draw();
      source.width = T;
      source.height = H;
      const sctx = source.getContext("2d");
      const img = sctx.createImageData(T, H);
      const table = lutFor(field);
      for (let t = 0; t < T; t++) {
        const col = matrix[t];
        for (let u = 0; u < H; u++) {
          const k = lutIndex(table, col[u]) * 3;
          const p = (u * T + t) * 4;
          img.data[p] = table.rgb[k];
          img.data[p + 1] = table.rgb[k + 1];
          img.data[p + 2] = table.rgb[k + 2];
          img.data[p + 3] = 255;
        }
      }
      sctx.putImageData(img, 0, 0);
      draw();
      place();
    },
    setPosition(t, unit) {
      at = { t, unit };
      place();
    },
    redraw: draw,
  };
}
