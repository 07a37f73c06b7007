// A short guided tour of the explorer: six steps, each pointing at one part of the page (a
// ring around it and a box beside it). Skippable at any step (button or Escape); skipped or
// finished, it is remembered as dismissed in this browser and starts again only from its button.
// It never covers the page with a backdrop: everything stays clickable while it is open.
import { lang, t as tr } from "./i18n.js";
import { remember, stored } from "./first_visit.js";

const DISMISSED = "gatescope.tour";
const STEPS = [
  { key: "cell", targets: ["#path-cprev", "#path-fc", "#path-c", "#op-forget", "#op-add"] },
  { key: "gates", targets: ["#layer-f", "#layer-i", "#layer-g", "#layer-o"] },
  { key: "player", targets: [".player"] },
  { key: "heatmaps", targets: ["#heatmaps"] },
  { key: "clamp", targets: ["#clamp-box"] },
  { key: "pages", targets: [".header-nav", ".site-header"] },
];
const GAP = 10; // px between the ring and its box

export const tourDismissed = () => stored(DISMISSED) === "dismissed";

function make(tag, attrs = {}, text = undefined) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function strokeHalf(node) {
  let widest = 0; // a group's own box leaves out its children's strokes too
  for (const part of [node, ...node.querySelectorAll("*")]) {
    const style = getComputedStyle(part);
    if (style.stroke !== "none") widest = Math.max(widest, parseFloat(style.strokeWidth) || 0);
  }
  const scale = node.getScreenCTM()?.a ?? 1; // the stroke is in user units, the box in px
  return (widest * scale) / 2;
}

// The smallest box around every visible target, in page coordinates; null if none shows.
function targetBox(selectors) {
  let box = null;
  for (const sel of selectors) {
    for (const node of document.querySelectorAll(sel)) {
      const r = node.getBoundingClientRect();
      if (!r.width && !r.height) continue;
      // An SVG line's box is its geometry alone; its drawn stroke sticks out by half its width.
      const s = node instanceof SVGGraphicsElement ? strokeHalf(node) : 0;
      const b = {
        left: r.left + window.scrollX - s, top: r.top + window.scrollY - s,
        right: r.right + window.scrollX + s, bottom: r.bottom + window.scrollY + s,
      };
      box = box ? {
        left: Math.min(box.left, b.left), top: Math.min(box.top, b.top),
        right: Math.max(box.right, b.right), bottom: Math.max(box.bottom, b.bottom),
      } : b;
    }
    if (box && sel === ".header-nav") break; // the last step: the nav when there is one
  }
  return box;
}

export function createTour() {
  let at = -1;
  let box = null;
  let ring = null;
  let onKey = null;

  function close(dismiss) {
    if (dismiss) remember(DISMISSED, "dismissed");
    box?.remove();
    ring?.remove();
    box = ring = null;
    at = -1;
    document.removeEventListener("keydown", onKey, true);
    document.body.dataset.tour = dismiss ? "dismissed" : "closed";
  }

  function build() {
    ring = make("div", { id: "tour-ring", class: "tour-ring", "aria-hidden": "true" });
    box = make("div", { id: "tour", class: "tour", role: "dialog", "aria-labelledby": "tour-title", "aria-describedby": "tour-text" });
    const count = make("p", { id: "tour-count", class: "tour-count" });
    const title = make("h2", { id: "tour-title", class: "tour-title" });
    const text = make("p", { id: "tour-text", class: "tour-text" });
    const extra = make("p", { id: "tour-extra", class: "tour-extra" });
    const buttons = make("div", { class: "buttons tour-buttons" });
    const back = make("button", { id: "tour-back", type: "button" }, tr("tour.back"));
    const next = make("button", { id: "tour-next", type: "button", class: "primary" }, tr("tour.next"));
    const skip = make("button", { id: "tour-skip", type: "button", class: "tour-skip" }, tr("tour.skip"));
    back.addEventListener("click", () => show(at - 1));
    next.addEventListener("click", () => (at === STEPS.length - 1 ? close(true) : show(at + 1)));
    skip.addEventListener("click", () => close(true));
    buttons.append(back, next, skip);
    box.append(count, title, text, extra, buttons);
    document.body.append(ring, box);
    onKey = (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        close(true);
      }
    };
    document.addEventListener("keydown", onKey, true);
  }
  const replace = () => at >= 0 && box && place(STEPS[at]);
  window.addEventListener("resize", replace);
  // Late layout (a heatmap drawn, a scrollbar appearing) moves the targets: follow them.
  new ResizeObserver(replace).observe(document.body);

  function show(k) {
    if (k < 0 || k >= STEPS.length) return;
    if (!box) build();
    at = k;
    const step = STEPS[k];
    box.dataset.step = step.key;
    box.querySelector("#tour-count").textContent = tr("tour.count", { n: k + 1, total: STEPS.length });
    box.querySelector("#tour-title").textContent = tr(`tour.${step.key}.title`);
    box.querySelector("#tour-text").textContent = tr(`tour.${step.key}.text`);
    const extra = box.querySelector("#tour-extra");
    extra.replaceChildren();
    if (step.key === "pages") {
      extra.append(make("a", { id: "tour-learn-link", href: `learn?lang=${lang}` }, tr("tour.learn_link")));
      extra.append(" · ", make("a", { id: "tour-train-link", href: `train?lang=${lang}` }, tr("tour.train_link")));
    }
    box.querySelector("#tour-back").disabled = k === 0;
    box.querySelector("#tour-next").textContent = tr(k === STEPS.length - 1 ? "tour.done" : "tour.next");
    document.body.dataset.tour = step.key;
    const first = step.targets.map((s) => document.querySelector(s)).find(Boolean);
    first?.scrollIntoView?.({ block: "center", inline: "nearest" });
    place(step);
    // Once more after the box's own layout has settled (a scrollbar may come or go with it).
    requestAnimationFrame(() => at === k && box && place(step));
    box.querySelector("#tour-next").focus({ preventScroll: true });
  }

  function place(step) {
    const target = targetBox(step.targets);
    ring.hidden = !target;
    const width = Math.min(360, document.documentElement.clientWidth - 16);
    box.style.width = `${width}px`;
    if (!target) {
      box.style.left = `${window.scrollX + (document.documentElement.clientWidth - width) / 2}px`;
      box.style.top = `${window.scrollY + 80}px`;
      return;
    }
    const pad = 4;
    Object.assign(ring.style, {
      left: `${target.left - pad}px`, top: `${target.top - pad}px`,
      width: `${target.right - target.left + 2 * pad}px`, height: `${target.bottom - target.top + 2 * pad}px`,
    });
    const viewBottom = window.scrollY + window.innerHeight;
    const height = box.offsetHeight || 200;
    // Below the target if it fits on screen, else above it, else over its top edge.
    let top = target.bottom + pad + GAP;
    if (top + height > viewBottom) top = target.top - pad - GAP - height;
    if (top < window.scrollY) top = Math.min(viewBottom - height - GAP, target.top + GAP);
    const maxLeft = window.scrollX + document.documentElement.clientWidth - width - 8;
    box.style.left = `${Math.max(window.scrollX + 8, Math.min(maxLeft, target.left))}px`;
    box.style.top = `${Math.max(window.scrollY + 8, top)}px`;
  }

  return {
    get step() { return at; },
    steps: STEPS.map((s) => s.key),
    start: () => show(0),
    show,
    close,
  };
}
