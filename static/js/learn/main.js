// /learn/<section>: the section's equations (KaTeX), its live figure, and nothing inline.
import { t as msg } from "../i18n.js";
import { $, errorText, renderAllTex, renderTex, text } from "./common.js";
import { TEX } from "./equations.js";
import { SECTIONS } from "./sections.js";

async function start() {
  const article = document.querySelector("article[data-section]");
  const section = article.dataset.section;
  const eq = $("equations");
  for (const tex of TEX[section] ?? []) eq.appendChild(renderTex(text("div", "tex"), tex));
  const steps = $("bptt-steps");
  if (steps) {
    TEX["bptt-steps"].forEach((tex, k) => {
      const slot = document.getElementById(`bptt-eq-${k}`);
      if (slot) renderTex(slot, tex);
    });
  }
  renderAllTex(article);
  const ctx = { body: $("figure-body"), controls: $("figure-controls"), extra: $("figure-extra"), note: $("model-note") };
  try {
    await SECTIONS[section](ctx);
  } catch (err) {
    const status = $("figure-status");
    status.textContent = errorText(err);
    status.classList.add("error");
    console.warn(msg("learn.api_error", { message: err.message }));
  }
  document.body.dataset.ready = "true";
}

start();
