// The input text coloured by one unit's value at each character (as in Karpathy et al.'s
// cell figures). Tokens become spans once; a new unit or field only changes their colours.
import { colourOf } from "../config.js";

export function createTextView(container, { onPick, onHover, onLeave }) {
  let spans = [];
  container.addEventListener("click", (ev) => {
    const k = ev.target?.dataset?.step;
    if (k !== undefined) onPick?.(Number(k));
  });
  container.addEventListener("mousemove", (ev) => {
    const k = ev.target?.dataset?.step;
    if (k !== undefined) onHover?.(ev, Number(k));
  });
  container.addEventListener("mouseleave", () => onLeave?.());
  return {
    setTokens(tokens) {
      spans = tokens.map((tok, k) => {
        const span = document.createElement("span");
        span.className = "tok";
        span.dataset.step = String(k);
        span.textContent = tok === "\n" ? "↵\n" : tok; // never parsed as HTML
        return span;
      });
      // Word tokens are shown with the spaces the tokenizer took out.
      const words = tokens.some((tok) => String(tok).length > 1);
      container.replaceChildren(...spans.flatMap((s) => (words ? [s, document.createTextNode(" ")] : [s])));
    },
    // values: [T] of the unit's field; t: the current step.
    colour(field, values, t) {
      spans.forEach((span, k) => {
        const v = values?.[k];
        span.style.backgroundColor = v === undefined ? "" : colourOf(field, v);
        span.classList.toggle("dark", v !== undefined && (field === "c" || field === "h" || field === "g") ? Math.abs(v) > 0.6 : v > 0.55);
        span.classList.toggle("current", k === t);
      });
    },
    setCursor(t) {
      spans.forEach((span, k) => span.classList.toggle("current", k === t));
    },
  };
}
