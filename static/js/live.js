// Live typing: with a text model, each new token (a character, or a word for a model with a
// word vocabulary) is one message on the WebSocket and each answer is that step's whole
// trace. The server keeps h and c; tokens removed at the end are undone with "back". The
// growing trace is handed to the page after every answer.
import { openStepSocket } from "./api.js";

export function createLiveTyping({ model, onTrace, onFallback, onError }) {
  let enabled = false;
  let client = null;
  let connecting = null;
  let sent = []; // the tokens whose steps the server has taken
  let trace = null;
  const expected = []; // one entry per message in flight: "step" or "back"
  let fallbackTimer = 0;

  function appendStep(msg, token) {
    const layers = msg.layers ?? [msg];
    if (!trace) {
      trace = {
        cell: msg.cell, input_size: msg.input_size, hidden_size: (layers[0].c ?? layers[0].h).length,
        proj_size: layers[0].h_unprojected ? layers[0].h.length : undefined,
        num_layers: layers.length, steps: 0, tokens: [], layers: layers.map(() => ({})),
      };
    }
    layers.forEach((layer, l) => {
      for (const [f, v] of Object.entries(layer)) {
        if (!Array.isArray(v)) continue;
        (trace.layers[l][f] ??= []).push(v);
      }
    });
    trace.tokens.push(msg.token ?? token);
    trace.steps += 1;
  }

  function dropStep() {
    if (!trace || !trace.steps) return;
    for (const layer of trace.layers) for (const m of Object.values(layer)) m.pop();
    trace.tokens.pop();
    trace.steps -= 1;
  }

  async function ensure() {
    if (client?.open) return client;
    connecting ??= openStepSocket(model(), {
      onStep: (msg) => {
        const kind = expected.shift();
        // Answers come in the order the messages went out: undo a step only when its "back"
        // is answered, or a step still in flight would be dropped in its place.
        if (kind?.type === "step") appendStep(msg, kind.token);
        else if (kind?.type === "back") dropStep();
        if (!expected.length && trace?.steps) onTrace(structuredClone(trace));
      },
      onError: (err) => {
        // The server refused a step: start afresh on the next edit, replaying the text.
        expected.length = 0;
        client?.close();
        client = null;
        sent = [];
        trace = null;
        onError(err);
      },
      onClose: () => { client = null; },
    }).then((c) => {
      client = c;
      sent = [];
      trace = null;
      expected.length = 0;
      return c;
    }).finally(() => { connecting = null; });
    return connecting;
  }

  async function sync(tokens) {
    const c = await ensure();
    let p = 0;
    while (p < sent.length && p < tokens.length && sent[p] === tokens[p]) p++;
    while (sent.length > p) {
      c.back();
      expected.push({ type: "back" });
      sent.pop();
    }
    for (const token of tokens.slice(p)) {
      c.send({ type: "step", token });
      expected.push({ type: "step", token });
      sent.push(token);
    }
    if (!tokens.length) trace = null;
  }

  return {
    setEnabled(on) {
      enabled = on;
      if (!on && client) {
        client.close();
        client = null;
      }
    },
    // tokens: the text cut into the model's tokens (see inputs.tokenize).
    onTokens(tokens) {
      if (!enabled || !tokens.length) {
        clearTimeout(fallbackTimer);
        fallbackTimer = setTimeout(onFallback, 250);
        return;
      }
      sync(tokens).catch((err) => {
        enabled = false;
        onError(err);
        onFallback();
      });
    },
  };
}
