// Messages come from the page (the server embeds the catalogue of the chosen language).
const node = document.getElementById("i18n-messages");
const messages = node ? JSON.parse(node.textContent) : {};

export const lang = document.documentElement.dataset.lang || "en";

// t("input.error_width", {line: 2, n: 1, d: 2}) -> the message with its {placeholders} filled.
export function t(key, vars = {}) {
  const template = messages[key];
  if (template === undefined) {
    console.warn(`missing message: ${key}`);
    return key;
  }
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

// A model's name in the page's language: built-in models carry names {en, zh}, uploads one name.
export function modelName(m) {
  return m.names?.[lang] ?? m.name ?? m.id;
}

export function formatNumber(v, digits = 4) {
  return Number.isFinite(v) ? v.toFixed(digits) : "–";
}
