// The linked views under the diagram: heatmaps (units x time), the coloured text, the unit
// chart, the gate-saturation scatter, the clamp comparison and the table of values at step t.
import { DECIMALS, SYMBOLS } from "./config.js";
import { createHeatmap } from "./diagrams/heatmap.js";
import { drawSaturation } from "./diagrams/saturation.js";
import { createTextView } from "./diagrams/text_colour.js";
import { hideTooltip, showTooltip } from "./diagrams/tooltip.js";
import { drawUnitChart } from "./diagrams/unit_chart.js";
import { t as tr } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const TABLE_MAX_UNITS = 32;

export function createViews({ onPick }) {
  let heatmaps = {};
  let compare = {};
  let layer = null;
  let original = null;
  let fields = [];
  let heatmapKey = "";
  let unitChart = null;
  let pos = { t: 0, unit: 0, field: "c" };

  const hover = (ev, { field, t, unit, value }, label = "") => showTooltip(ev.clientX, ev.clientY, {
    title: `${label}${tr(`name.${field}`)} ${SYMBOLS[field] ?? field}`,
    rows: [{ label: `t = ${t}, ${tr("chain.unit")} ${unit}`, value, testid: "tip-heatmap" }],
  });

  const textView = createTextView($("text-view"), {
    onPick: (t) => onPick({ t }),
    onHover: (ev, t) => layer && showTooltip(ev.clientX, ev.clientY, {
      title: `t = ${t}`,
      rows: [{ label: `${SYMBOLS[pos.field]} ${tr("chain.unit")} ${pos.unit}`, value: layer[pos.field][t][pos.unit] }],
    }),
    onLeave: hideTooltip,
  });

  function buildHeatmaps(container, names, prefix, labelPrefix = "") {
    container.replaceChildren();
    const out = {};
    for (const [key, field, title] of names) {
      out[key] = createHeatmap(container, {
        id: `${prefix}${key}`, field, title,
        onPick: ({ t, unit }) => onPick({ t, unit }),
        onHover: (ev, info) => hover(ev, info, labelPrefix),
        onLeave: hideTooltip,
      });
    }
    return out;
  }

  // One group of heatmaps, or two (forward, backward), each under a heading.
  function buildDirections(names, both) {
    const root = $("heatmaps");
    root.replaceChildren();
    const title = (f, dir = "") => `${SYMBOLS[f]} · ${tr(`name.${f}`)}${dir ? ` · ${tr(`chain.${dir}_short`)}` : ""}`;
    if (!both) return buildHeatmaps(root, names.map((f) => [f, f, title(f)]), "heatmap-");
    const out = {};
    for (const [dir, prefix] of [["forward", ""], ["backward", "bw-"]]) {
      const group = document.createElement("div");
      group.className = "heatmap-group";
      group.id = `heatmaps-${dir}`;
      group.dataset.direction = dir;
      const head = document.createElement("h3");
      head.textContent = tr(`views.heatmaps_${dir}`);
      const list = document.createElement("div");
      group.append(head, list);
      root.appendChild(group);
      const made = buildHeatmaps(list, names.map((f) => [`${prefix}${f}`, f, title(f, dir)]), "heatmap-", `${tr(`chain.${dir}_short`)} · `);
      Object.assign(out, made);
    }
    return out;
  }

  function drawCharts() {
    if (!layer) return;
    unitChart = drawUnitChart($("unit-chart"), {
      layer, original, unit: pos.unit, t: pos.t, onPick: (t) => onPick({ t }),
    });
    $("saturation").closest(".view").hidden = !(layer.f || layer.r);
    if (layer.f || layer.r) {
      drawSaturation($("saturation"), {
        layer, unit: pos.unit,
        labels: { x: tr("views.saturation_x"), y: tr("views.saturation_y") },
        onPick: (unit) => onPick({ unit }),
        onHover: (ev, p) => showTooltip(ev.clientX, ev.clientY, {
          title: `${SYMBOLS[p.field]} · ${tr("chain.unit")} ${p.unit}`,
          rows: [
            { label: tr("views.saturation_x"), value: p.low },
            { label: tr("views.saturation_y"), value: p.high },
          ],
        }),
        onLeave: hideTooltip,
      });
    }
    $("unit-label").textContent = `${tr("chain.unit")} ${pos.unit}`;
  }

  function colourText() {
    if (!layer || $("text-view-box").hidden) return;
    textView.colour(pos.field, layer[pos.field]?.map((row) => row[pos.unit]), pos.t);
  }

  return {
    // trace layer (and the unclamped original when a clamp is on); tokens for text models.
    // at: the position to draw at ({t, unit, field}); a unit from a bigger model would not exist.
    // directions: {forward, backward} of a bidirectional layer, each direction's heatmaps
    // under its own heading (ids heatmap-<field> and heatmap-bw-<field>); else null.
    setTrace(newLayer, newOriginal, tokens, at = pos, directions = null) {
      layer = newLayer;
      original = newOriginal;
      pos = { ...at };
      const present = ["r", "z", "n", "pre", "i", "f", "g", "o", "c", "h"].filter((f) => layer[f]);
      const key = `${present.join()}:${Boolean(directions)}`;
      if (key !== heatmapKey) {
        heatmapKey = key;
        fields = present;
        heatmaps = buildDirections(fields, Boolean(directions));
      }
      for (const f of fields) {
        heatmaps[f].setData((directions?.forward ?? layer)[f]);
        heatmaps[`bw-${f}`]?.setData(directions.backward[f]);
      }
      const box = $("clamp-compare");
      box.hidden = !original;
      if (original) {
        const rows = [];
        for (const f of ["c", "h"].filter((x) => layer[x])) {
          rows.push([`${f}-original`, f, `${SYMBOLS[f]} · ${tr("clamp.original")}`]);
          rows.push([`${f}-clamped`, f, `${SYMBOLS[f]} · ${tr("clamp.clamped")}`]);
          rows.push([`${f}-diff`, f, `${SYMBOLS[f]} · ${tr("clamp.difference")}`]);
        }
        compare = buildHeatmaps($("compare-heatmaps"), rows, "compare-");
        for (const f of ["c", "h"].filter((x) => layer[x])) {
          compare[`${f}-original`].setData(original[f]);
          compare[`${f}-clamped`].setData(layer[f]);
          compare[`${f}-diff`].setData(layer[f].map((row, t) => row.map((v, u) => v - original[f][t][u])));
        }
      } else {
        compare = {};
      }
      $("text-view-box").hidden = !tokens;
      if (tokens) textView.setTokens(tokens);
      drawCharts();
      colourText();
    },
    setPosition({ t, unit, field }) {
      const unitChanged = unit !== pos.unit || field !== pos.field;
      pos = { t, unit, field };
      for (const h of [...Object.values(heatmaps), ...Object.values(compare)]) h.setPosition(t, unit);
      if (unitChanged) {
        drawCharts();
        colourText();
      } else {
        unitChart?.setCursor(t);
        textView.setCursor(t);
      }
    },
    redraw() {
      for (const h of [...Object.values(heatmaps), ...Object.values(compare)]) h.redraw();
    },
  };
}

// The values at step t: one row per field, one column per unit (a window around the
// selected unit when there are many).
export function renderTable(table, layer, t, unit, fields) {
  const H = (layer.c ?? layer.h)[0].length; // with a projection h has fewer units than c
  let from = 0;
  let to = H;
  if (H > TABLE_MAX_UNITS) {
    from = Math.max(0, Math.min(H - TABLE_MAX_UNITS, unit - TABLE_MAX_UNITS / 2));
    to = from + TABLE_MAX_UNITS;
  }
  const head = table.tHead;
  head.replaceChildren();
  const hr = head.insertRow();
  hr.appendChild(document.createElement("th"));
  for (let u = from; u < to; u++) {
    const th = document.createElement("th");
    th.textContent = `${u}`;
    th.scope = "col";
    if (u === unit) th.className = "selected";
    hr.appendChild(th);
  }
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const f of fields) {
    if (!layer[f]) continue;
    const row = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = SYMBOLS[f];
    row.appendChild(th);
    for (let u = from; u < to; u++) {
      const v = layer[f][t][u];
      const cell = row.insertCell();
      if (v === undefined) continue; // h of a projection has fewer units than the gates
      cell.textContent = v.toFixed(DECIMALS);
      cell.dataset.testid = `value-${f}-${u}`;
      cell.dataset.value = String(v);
      if (u === unit) cell.className = "selected";
    }
  }
}
