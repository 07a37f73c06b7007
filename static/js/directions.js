// The two directions of a bidirectional trace (docs/bidirectional.md): layers[k] holds the
// forward direction's fields and, for a bidirectional model, `backward` with the same fields,
// both indexed in forward time.
export const bidirectional = (trace) => (trace?.num_directions ?? 1) === 2;

// The fields of layer k in direction `dir`, without the nested "backward" object.
export function layerFields(trace, k, dir) {
  const layer = trace.layers[k];
  const chosen = dir === "backward" && layer.backward ? layer.backward : layer;
  const { backward: _, ...fields } = chosen;
  return fields;
}

// What layer k > 0 reads at step t: the h of the layer below, both directions side by side.
export function layerInput(trace, k, t) {
  const below = trace.layers[k - 1];
  const h = Array.from(below.h[t]);
  return below.backward ? h.concat(Array.from(below.backward.h[t])) : h;
}
