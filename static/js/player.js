// The player: all motion lives here. It owns the position (timestep t, sub-step) and, while
// playing, advances it on requestAnimationFrame: f, then i and C̃, then C, then o, then the
// cell state slides one module on, then the next timestep. Views only receive positions.
import { FAST_STEP_MS, SLIDE_SHARE, STEP_MS, SUBSTEPS } from "./config.js";

const SUB_SHARE = (1 - SLIDE_SHARE) / SUBSTEPS.length;

export function focusName(sub) {
  return sub >= 0 && sub < SUBSTEPS.length ? SUBSTEPS[sub] : "";
}

export function createPlayer({ onChange, onPlayingChange }) {
  const reduced = window.matchMedia?.("(prefers-reduced-motion: reduce)");
  let steps = 0;
  let t = 0;
  let sub = -1;
  let speed = 1;
  let playing = false;
  let progress = 0; // within the current step while playing, in [0, 1)
  let last = 0;
  let raf = 0;

  const emit = (stepChanged, slide = -1) => onChange({ t, sub, focus: slide >= 0 ? "slide" : focusName(sub), slide, stepChanged, playing });

  function frame(now) {
    raf = 0;
    if (!playing) return;
    const dt = last ? Math.min(now - last, 250) : 0;
    last = now;
    progress += (dt * speed) / STEP_MS;
    let stepChanged = false;
    while (progress >= 1) {
      progress -= 1;
      if (t + 1 >= steps) {
        progress = 0;
        sub = -1;
        setPlaying(false);
        emit(false);
        return;
      }
      t += 1;
      stepChanged = true;
    }
    // Fast playback shows whole steps: sub-steps shorter than a glance would only flicker.
    if (STEP_MS / speed < FAST_STEP_MS) {
      if (stepChanged || sub !== -1) {
        sub = -1;
        emit(stepChanged);
      }
      raf = requestAnimationFrame(frame);
      return;
    }
    const inSlide = progress >= 1 - SLIDE_SHARE;
    const newSub = inSlide ? SUBSTEPS.length - 1 : Math.floor(progress / SUB_SHARE);
    const slide = inSlide && !reduced?.matches ? (progress - (1 - SLIDE_SHARE)) / SLIDE_SHARE : -1;
    if (stepChanged || newSub !== sub || slide >= 0) {
      sub = newSub;
      emit(stepChanged, slide);
    }
    raf = requestAnimationFrame(frame);
  }

  function setPlaying(on) {
    if (on === playing) return;
    playing = on;
    if (on) {
      if (t >= steps - 1) t = 0; // play from the start again once at the end
      progress = sub >= 0 ? sub * SUB_SHARE : 0;
      last = 0;
      raf = requestAnimationFrame(frame);
    } else if (raf) {
      cancelAnimationFrame(raf);
      raf = 0;
    }
    onPlayingChange?.(playing);
  }

  const clampT = (x) => Math.max(0, Math.min(steps - 1, x));

  return {
    get t() { return t; },
    get sub() { return sub; },
    get playing() { return playing; },
    get speed() { return speed; },
    load(n, at = {}) {
      steps = n;
      t = clampT(at.t ?? t);
      sub = Math.max(-1, Math.min(SUBSTEPS.length - 1, at.sub ?? sub));
      emit(true);
    },
    seek(newT, newSub = sub) {
      setPlaying(false);
      const changed = clampT(newT) !== t;
      t = clampT(newT);
      sub = newSub;
      emit(changed);
    },
    play: () => setPlaying(true),
    pause: () => { setPlaying(false); emit(false); },
    toggle() { setPlaying(!playing); if (!playing) emit(false); },
    step(d) { this.seek(t + d, sub); },
    // Sub-steps run -1 (whole step), 0..3 (f, i, C, o); past o comes the next step's f,
    // before f the previous step's o.
    subStep(d) {
      let nt = t;
      let ns = sub + d;
      if (ns > SUBSTEPS.length - 1) {
        if (t + 1 >= steps) ns = SUBSTEPS.length - 1;
        else { nt = t + 1; ns = 0; }
      } else if (d < 0 && ns < 0) {
        // Back from f goes to the previous step's o; the whole-step view only at t = 0.
        if (t === 0) ns = -1;
        else { nt = t - 1; ns = SUBSTEPS.length - 1; }
      }
      this.seek(nt, ns);
    },
    setSpeed(s) { speed = s; },
    // Space plays or pauses, arrows step, shift+arrows walk the sub-steps; up and down pick
    // the next or previous unit through onUnit.
    bindKeys(target = document, onUnit = null) {
      target.addEventListener("keydown", (e) => {
        const tagName = e.target?.tagName;
        if (["INPUT", "TEXTAREA", "SELECT"].includes(tagName)) return;
        if (e.key === " " && tagName !== "BUTTON") {
          e.preventDefault();
          this.toggle();
        } else if (onUnit && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
          e.preventDefault();
          onUnit(e.key === "ArrowDown" ? 1 : -1);
        } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
          e.preventDefault();
          const d = e.key === "ArrowRight" ? 1 : -1;
          if (e.shiftKey) this.subStep(d);
          else this.step(d);
        }
      });
    },
  };
}
