// The learner's first minute (issue 17). A first visit (no state in the link, nothing stored
// in this browser) opens a trained model on the article's own kind of example, "I grew up in
// France ... speak": the delayed-recall LSTM, its memory unit selected (the model's first
// named unit, see named_units.js) and the forget gate's path lit, half way through the gap.
// Later visits with a bare link start on random weights as before; a link always wins.
import { tokenize } from "./inputs.js";
import { linkHasState } from "./state.js";

export const FIRST_MODEL = "delayed-recall-lstm";
const VISITED = "gatescope.visited";

function stored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage refused (a private window's policy): every visit looks like a first
  }
}

export function remember(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // nothing to remember with: the page works the same, it only forgets
  }
}

export const bareLink = () => !linkHasState();
export const isFirstVisit = () => bareLink() && stored(VISITED) === null;
export const rememberVisit = () => remember(VISITED, "1");
export { stored };

// The state a first visit starts from, given the models the server has; null without the model.
export function firstVisitState(models) {
  if (!models.some((m) => m.id === FIRST_MODEL)) return null;
  return { model: FIRST_MODEL, sub: 0, t: 0 }; // sub 0: the forget gate's focus figure
}

// Half way through the example: inside the gap, where the memory unit's f stays near 1.
export function middleStep(text, vocab) {
  const { tokens } = tokenize(text, vocab ?? []);
  return Math.max(0, Math.floor(tokens.length / 2));
}
