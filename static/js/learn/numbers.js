// A small table of one step's numbers: one row per unit, one column per quantity.
import { formatNumber, t as msg } from "../i18n.js";

export function numbersTable(box, columns, maxRows = 8) {
  const table = document.createElement("table");
  table.className = "numbers-table";
  const head = table.createTHead().insertRow();
  const th0 = document.createElement("th");
  th0.textContent = msg("learn.unit");
  head.appendChild(th0);
  for (const c of columns) {
    const th = document.createElement("th");
    th.textContent = c.label;
    head.appendChild(th);
  }
  const body = table.createTBody();
  const n = Math.min(maxRows, columns[0]?.values?.length ?? 0);
  for (let u = 0; u < n; u++) {
    const row = body.insertRow();
    row.insertCell().textContent = String(u);
    for (const c of columns) {
      const cell = row.insertCell();
      const v = c.values?.[u];
      cell.textContent = formatNumber(v);
      cell.dataset.value = String(v);
    }
  }
  box.replaceChildren(table);
}
