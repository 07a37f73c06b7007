// One tooltip for the page: a title, an equation and a table of numbers. Text only, no HTML.
import { formatNumber } from "../i18n.js";

let box = null;

// "W_f·x" -> W<sub>f</sub>·x, built from text nodes (never parsed as HTML).
export function renderMath(target, text) {
  const parts = String(text ?? "").split(/_(\{[^}]*\}|[A-Za-z0-9]+)/);
  target.replaceChildren(...parts.map((part, k) => {
    if (k % 2 === 0) return document.createTextNode(part);
    const sub = document.createElement("sub");
    sub.textContent = part.replace(/^\{|\}$/g, "");
    return sub;
  }));
  return target;
}

function node(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

// content: {title, equation, rows: [{label, value, original, testid, current}], note}
export function showTooltip(clientX, clientY, content) {
  box ??= document.getElementById("tooltip");
  if (!box) return;
  const parts = [node("div", "tip-title", content.title)];
  if (content.equation) parts.push(renderMath(node("code", "tip-eq"), content.equation));
  if (content.rows?.length) {
    const table = node("table", "tip-table");
    const hasOriginal = content.rows.some((r) => r.original !== undefined);
    if (hasOriginal && content.headers) {
      const tr = table.createTHead().insertRow();
      for (const h of content.headers) tr.appendChild(node("th", "", h));
    }
    const body = table.createTBody();
    for (const r of content.rows) {
      const tr = body.insertRow();
      if (r.current) tr.className = "current";
      tr.insertCell().textContent = r.label;
      const cell = tr.insertCell();
      cell.textContent = formatNumber(r.value);
      if (r.testid) cell.dataset.testid = r.testid;
      cell.dataset.value = String(r.value);
      if (hasOriginal) tr.insertCell().textContent = r.original === undefined ? "" : formatNumber(r.original);
    }
    parts.push(table);
  }
  if (content.note) parts.push(node("div", "tip-note", content.note));
  box.replaceChildren(...parts);
  box.hidden = false;
  const pad = 14;
  const { innerWidth: W, innerHeight: H } = window;
  const r = box.getBoundingClientRect();
  const left = clientX + pad + r.width > W ? Math.max(4, clientX - pad - r.width) : clientX + pad;
  const top = clientY + pad + r.height > H ? Math.max(4, clientY - pad - r.height) : clientY + pad;
  box.style.left = `${left + window.scrollX}px`;
  box.style.top = `${top + window.scrollY}px`;
}

export function hideTooltip() {
  box ??= document.getElementById("tooltip");
  if (box) box.hidden = true;
}
