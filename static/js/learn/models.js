// Which model each section runs on: one entry each. When a built-in trained model with the
// given id is on the server it is used; until then (or on a server without it) the fallback,
// a random model of the right cell, so swapping in a trained model is this one line.
export const SECTION_MODELS = {
  rnn: { id: "sine-rnn", fallback: { cell: "rnn_tanh", input_size: 1, hidden_size: 8, seed: 3 } },
  lstm: { id: "sine-lstm", fallback: { cell: "lstm", input_size: 1, hidden_size: 8, seed: 1 } },
  gru: { id: "sine-gru", fallback: { cell: "gru", input_size: 1, hidden_size: 8, seed: 1 } },
  peephole: { id: "sine-lstm-peephole", fallback: { cell: "lstm_peephole", input_size: 1, hidden_size: 8, seed: 1 } },
  coupled: { id: "sine-lstm-coupled", fallback: { cell: "lstm_coupled", input_size: 1, hidden_size: 8, seed: 1 } },
  recallRnn: { id: "delayed-recall-rnn", fallback: { cell: "rnn_tanh", input_size: 4, hidden_size: 8, seed: 2 } },
  recallLstm: { id: "delayed-recall-lstm", fallback: { cell: "lstm", input_size: 4, hidden_size: 8, seed: 2 } },
};

// The random LSTM of the gradient-flow view starts with this forget-gate bias (the reader can
// change it): PyTorch's default (0) fades like the RNN, +1..+3 keeps the cell line open.
export const GRADIENT_FORGET_BIAS = 3;

// The delayed-recall sequence (France ... speak -> French): a trained model's tokens are looked
// up by name in its vocabulary; a random fallback model reads one-hot indices 0..3 instead.
export const RECALL = {
  prefix: ["I", "grew", "up", "in"],
  countries: ["France", "Japan"],
  fillers: ["in", "went", "we", "I", "and", "up", "years", "then", "by", "moved", "grew", "the"],
  query: "speak",
  gap: 40,
};
export const RECALL_FALLBACK = { prefix: [], countries: [0, 1], fillers: [2], query: 3 };

// The five cells of /compare, each a model entry as above.
export const COMPARE_MODELS = {
  rnn_tanh: SECTION_MODELS.rnn,
  lstm: SECTION_MODELS.lstm,
  gru: SECTION_MODELS.gru,
  lstm_peephole: SECTION_MODELS.peephole,
  lstm_coupled: SECTION_MODELS.coupled,
};
