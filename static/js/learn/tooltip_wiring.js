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
