// Live typing: with a text model, each typed character is one message on the WebSocket and
// each answer is that step's whole trace. The server keeps h and c; deleting at the end sends
// "back". The growing trace is handed to the page after every answer.
import { openStepSocket } from "./api.js";

export function createLiveTyping({ model, onTrace, onFallback, onError }) {
  let enabled = false;
  let client = null;
  let connecting = null;
  let sent = ""; // the text whose steps the server has taken
  let trace = null;
  const expected = []; // one entry per message in flight: "step" or "back"
  let fallbackTimer = 0;

  function appendStep(msg, token) {
    const layers = msg.layers ?? [msg];
    if (!trace) {
      trace = {
        cell: msg.cell, input_size: msg.input_size, hidden_size: layers[0].h.length,
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
        if (kind?.type === "step") appendStep(msg, kind.token);
        if (!expected.length && trace?.steps) onTrace(structuredClone(trace));
      },
      onError: (err) => {
        // The server refused a step: start afresh on the next edit, replaying the text.
        expected.length = 0;
        client?.close();
        client = null;
        sent = "";
        trace = null;
        onError(err);
      },
      onClose: () => { client = null; },
    }).then((c) => {
      client = c;
      sent = "";
      trace = null;
      expected.length = 0;
      return c;
    }).finally(() => { connecting = null; });
    return connecting;
  }

  async function sync(text) {
    const c = await ensure();
    let p = 0;
    while (p < sent.length && p < text.length && sent[p] === text[p]) p++;
    while (sent.length > p) {
      c.back();
      expected.push({ type: "back" });
      sent = sent.slice(0, -1);
      dropStep();
    }
    for (const ch of text.slice(p)) {
      c.send({ type: "step", token: ch });
      expected.push({ type: "step", token: ch });
      sent += ch;
    }
    if (!text.length) trace = null;
  }

  return {
    setEnabled(on) {
      enabled = on;
      if (!on && client) {
        client.close();
        client = null;
      }
    },
    onText(text) {
      if (!enabled || !text.length) {
        clearTimeout(fallbackTimer);
        fallbackTimer = setTimeout(onFallback, 250);
        return;
      }
      sync(text).catch((err) => {
        enabled = false;
        onError(err);
        onFallback();
      });
    },
  };
}
