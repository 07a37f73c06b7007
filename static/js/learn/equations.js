// Each section's equations in TeX (identical in every language), rendered by KaTeX.
// The article's C̃ is PyTorch's g; the GRU follows PyTorch's convention (z keeps the old state).
const CAT = "[h_{t-1}, x_t]";
export const TEX = {
  "rnn-rolled": [String.raw`h_t = A(h_{t-1}, x_t)`],
  "rnn-unrolled": [String.raw`h_0 = A(0, x_0),\quad h_1 = A(h_0, x_1),\quad \dots,\quad h_t = A(h_{t-1}, x_t)`],
  "simple-rnn-bptt": [
    String.raw`a_t = W_{hh} h_{t-1} + W_{xh} x_t + b, \qquad h_t = \tanh(a_t)`,
    String.raw`y_t = W_{hy} h_t + b_y, \qquad L = \sum_t L_t(y_t)`,
  ],
  "bptt-steps": [
    String.raw`\delta_t \equiv \frac{\partial L}{\partial h_t} = \frac{\partial L_t}{\partial h_t} + \Big(\frac{\partial h_{t+1}}{\partial h_t}\Big)^{\!\top} \delta_{t+1}`,
    String.raw`\frac{\partial h_{t+1}}{\partial h_t} = \operatorname{diag}\!\big(1 - h_{t+1}^2\big)\, W_{hh}`,
    String.raw`\frac{\partial L}{\partial W_{hh}} = \sum_t \big(\delta_t \odot (1 - h_t^2)\big)\, h_{t-1}^{\top}, \qquad \frac{\partial L}{\partial W_{xh}} = \sum_t \big(\delta_t \odot (1 - h_t^2)\big)\, x_t^{\top}`,
    String.raw`\frac{\partial h_T}{\partial h_t} = \prod_{s=t+1}^{T} \operatorname{diag}\!\big(1 - h_s^2\big)\, W_{hh}, \qquad \Big\|\frac{\partial h_T}{\partial h_t}\Big\| \le \big(\|W_{hh}\|\big)^{T-t}`,
    String.raw`\frac{\partial C_T}{\partial C_t}\Big|_{\text{cell line}} = \prod_{s=t+1}^{T} \operatorname{diag}(f_s)`,
  ],
  "short-term": [String.raw`h_3 = A\big(A(A(h_0, x_1), x_2), x_3\big)`],
  "long-term": [String.raw`h_{t+1} = A\big(\cdots A(A(h_0, x_1), x_2) \cdots, x_{t+1}\big)`],
  "simple-rnn-module": [String.raw`h_t = \tanh\!\big(W \cdot ${CAT} + b\big)`],
  "lstm-chain": [
    String.raw`f_t = \sigma(W_f \cdot ${CAT} + b_f),\quad i_t = \sigma(W_i \cdot ${CAT} + b_i),\quad o_t = \sigma(W_o \cdot ${CAT} + b_o)`,
    String.raw`\tilde{C}_t = \tanh(W_C \cdot ${CAT} + b_C),\quad C_t = f_t * C_{t-1} + i_t * \tilde{C}_t,\quad h_t = o_t * \tanh(C_t)`,
  ],
  notation: [],
  "cell-state": [String.raw`C_t = f_t * C_{t-1} + i_t * \tilde{C}_t`],
  gate: [String.raw`\text{out} = \sigma(W \cdot ${CAT} + b) * \text{in}, \qquad \sigma(z) = \frac{1}{1 + e^{-z}} \in (0, 1)`],
  "focus-f": [String.raw`f_t = \sigma\big(W_f \cdot ${CAT} + b_f\big)`],
  "focus-i": [String.raw`i_t = \sigma\big(W_i \cdot ${CAT} + b_i\big)`, String.raw`\tilde{C}_t = \tanh\big(W_C \cdot ${CAT} + b_C\big)`],
  "focus-c": [String.raw`C_t = f_t * C_{t-1} + i_t * \tilde{C}_t`],
  "focus-o": [String.raw`o_t = \sigma\big(W_o \cdot ${CAT} + b_o\big)`, String.raw`h_t = o_t * \tanh(C_t)`],
  variants: [],
  "variant-peephole": [
    String.raw`f_t = \sigma(W_f \cdot ${CAT} + w_{cf} \odot C_{t-1} + b_f),\quad i_t = \sigma(W_i \cdot ${CAT} + w_{ci} \odot C_{t-1} + b_i)`,
    String.raw`o_t = \sigma(W_o \cdot ${CAT} + w_{co} \odot C_t + b_o)`,
  ],
  "variant-coupled": [String.raw`C_t = f_t * C_{t-1} + (1 - f_t) * \tilde{C}_t`],
  "variant-gru": [
    String.raw`r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}),\quad z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})`,
    String.raw`n_t = \tanh\big(W_{in} x_t + b_{in} + r_t * (W_{hn} h_{t-1} + b_{hn})\big),\quad h_t = (1 - z_t) * n_t + z_t * h_{t-1}`,
  ],
};
