// Hover on a drawn chain shows the explorer's tooltip (name, equation, numbers at this step).
import { hideTooltip, showTooltip } from "../diagrams/tooltip.js";

export function wireChainTooltip(chain) {
  chain.svg.addEventListener("pointermove", (ev) => {
    const target = ev.target.closest?.("[data-key]");
    if (!target) return hideTooltip();
    const unit = Number(ev.target.dataset?.unit ?? 0);
    const content = chain.describe(target.dataset.key, unit);
    if (content) showTooltip(ev.clientX, ev.clientY, content);
    else hideTooltip();
  });
  chain.svg.addEventListener("pointerleave", hideTooltip);
}

// The same for the Learn pages' own figures: hovering a vector strip shows its symbol, its
// equation and its numbers at this step. values() -> {key: [numbers]} for the current step.
const MAX_ROWS = 16;
export function wireStripTooltip(svg, values, equations = {}, symbols = {}) {
  svg.addEventListener("pointermove", (ev) => {
    const strip = ev.target.closest?.(".strip[data-key]");
    const key = strip?.dataset.key;
    const v = key ? values()?.[key] : null;
    if (!v) return hideTooltip();
    const unit = Number(ev.target.dataset?.unit ?? -1);
    const rows = Array.from(v.slice(0, MAX_ROWS), (value, u) => ({ label: `[${u}]`, value, current: u === unit }));
    showTooltip(ev.clientX, ev.clientY, { title: symbols[key] ?? key, equation: equations[key], rows });
  });
  svg.addEventListener("pointerleave", hideTooltip);
}
