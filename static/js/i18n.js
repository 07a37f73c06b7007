// Messages come from the page (the server embeds the catalogue of the chosen language).
const node = document.getElementById("i18n-messages");
const messages = node ? JSON.parse(node.textContent) : {};

export const lang = document.documentElement.dataset.lang || "en";

// t("clamp.applied", {n: 3}) -> the catalogue string with {n} replaced.
export function t(key, vars = {}) {
  const template = messages[key];
  if (template === undefined) {
    console.warn(`missing message: ${key}`);
    return key;
  }
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function formatNumber(v, digits = 4) {
  return Number.isFinite(v) ? v.toFixed(digits) : "–";
}
