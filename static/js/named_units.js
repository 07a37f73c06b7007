import { lang, t as tr } from "./i18n.js";

const $ = (id) => document.getElementById(id);

// A shipped model may name the units worth watching (a counter, a gate that remembers...):
// one button each selects that unit and colours the text by its field.
export function showNamedUnits(info, linked, { state, app, select, showTrace }) {
  const units = Array.isArray(info?.units) ? info.units.filter((u) => Number.isInteger(u.unit)) : [];
  $("model-look").textContent = info?.look_at?.[lang] ?? "";
  $("model-units").replaceChildren(...units.map((u) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "unit-pick";
    b.dataset.unit = String(u.unit);
    b.textContent = `${tr("chain.unit")} ${u.unit} · ${u.label?.[lang] ?? u.kind ?? ""} (${u.field ?? "c"})`;
    b.title = u.what?.[lang] ?? "";
    b.addEventListener("click", () => {
      if (u.field && $("colour-field").querySelector(`option[value="${u.field}"]`)) {
        state.field = u.field;
        $("colour-field").value = u.field;
      }
      if (Number.isInteger(u.layer) && u.layer !== state.layer && app.trace) {
        state.layer = u.layer;
        state.unit = u.unit;
        showTrace(app.trace, app.original);
      } else {
        select({ unit: u.unit });
      }
      $("model-look").textContent = u.what?.[lang] ?? $("model-look").textContent;
    });
    return b;
  }));
  // With no unit in the link, start on the first unit the model names.
  if (units.length && !linked.has("unit")) {
    state.unit = units[0].unit;
    state.layer = units[0].layer ?? state.layer;
    if (units[0].field) state.field = units[0].field;
    $("colour-field").value = state.field;
  }
}
