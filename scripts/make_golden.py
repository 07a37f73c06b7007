"""Write the golden fixtures tests/fixtures/golden/*.npz from PyTorch (2.13, CPU).

    .venv/bin/python scripts/make_golden.py

One file per case: cell (lstm, gru, rnn_tanh, rnn_relu) x layers (1, 2) x batch (1, 3) x
dtype (float64, float32). Each holds the module's weights (float64, PyTorch names under
"param/"), the inputs x (T, B, D), h0/c0 (L, B, H), a Linear readout (V, H), and the expected
values under "expect/": every traced field of every layer ("expect/l{k}/{field}", (T, B, H)),
h_n, c_n, logits and probs. Output and final states come from the nn module's own forward;
the gates, which PyTorch does not expose, are recomputed step by step with torch ops in the
module's dtype and checked to reproduce the module's h and c before anything is written.
"""

import sys
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "golden"
T, D, H, V = 6, 3, 4, 5
CELLS = {
    "lstm": (torch.nn.LSTM, {}),
    "gru": (torch.nn.GRU, {}),
    "rnn_tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (torch.nn.RNN, {"nonlinearity": "relu"}),
}


def cell_fields(
    cell: str, w: dict[str, torch.Tensor], k: int, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
) -> list[dict[str, torch.Tensor]]:
    """Per step of layer k: every traced field, with PyTorch's equations and ops."""
    steps = []
    for t in range(x.shape[0]):
        gi = F.linear(x[t], w[f"weight_ih_l{k}"], w[f"bias_ih_l{k}"])
        gh = F.linear(h, w[f"weight_hh_l{k}"], w[f"bias_hh_l{k}"])
        if cell == "lstm":
            i, f, g, o = (gi + gh).chunk(4, dim=-1)
            i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
            fc, ig = f * c, i * g
            c = fc + ig
            h = o * c.tanh()
            steps.append(dict(i=i, f=f, g=g, o=o, c=c, tanh_c=c.tanh(), h=h, f_c_prev=fc, i_g=ig))
        elif cell == "gru":
            ir, iz, in_ = gi.chunk(3, dim=-1)
            hr, hz, hn = gh.chunk(3, dim=-1)
            r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
            n = (in_ + r * hn).tanh()
            h = (h - n) * z + n
            steps.append(dict(r=r, z=z, n=n, h=h))
        else:
            pre = gi + gh
            h = pre.relu() if cell == "rnn_relu" else pre.tanh()
            steps.append(dict(pre=pre, h=h))
    return steps


def make_case(
    cell: str, layers: int, batch: int, dtype: torch.dtype, seed: int
) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    cls, kwargs = CELLS[cell]
    module = cls(D, H, num_layers=layers, **kwargs).double()
    head = torch.nn.Linear(H, V).double()
    x = torch.randn(T, batch, D, dtype=torch.float64)
    h0 = 0.5 * torch.randn(layers, batch, H, dtype=torch.float64)
    c0 = 0.5 * torch.randn(layers, batch, H, dtype=torch.float64)
    case = {f"param/{n}": p.detach().numpy().copy() for n, p in module.state_dict().items()}
    case |= {
        "x": x.numpy(),
        "h0": h0.numpy(),
        "readout_weight": head.weight.detach().numpy(),
        "readout_bias": head.bias.detach().numpy(),
    }
    if cell == "lstm":
        case["c0"] = c0.numpy()
    module, head = module.to(dtype), head.to(dtype)
    xs, hs, cs = x.to(dtype), h0.to(dtype), c0.to(dtype)
    with torch.no_grad():
        if cell == "lstm":
            out, (h_n, c_n) = module(xs, (hs, cs))
            case["expect/c_n"] = c_n.double().numpy()
        else:
            out, h_n = module(xs, hs)
        logits = head(out)
        weights = dict(module.state_dict())
        layer_in = xs
        tol = 1e-13 if dtype == torch.float64 else 1e-6
        for k in range(layers):
            steps = cell_fields(cell, weights, k, layer_in, hs[k], cs[k])
            for field in steps[0]:
                case[f"expect/l{k}/{field}"] = (
                    torch.stack([s[field] for s in steps]).double().numpy()
                )
            layer_in = torch.stack([s["h"] for s in steps])
            if not torch.allclose(layer_in[-1], h_n[k], rtol=0, atol=tol):
                sys.exit(
                    f"{cell} L{layers} B{batch} {dtype}: step-by-step h differs from the module"
                )
        if not torch.allclose(layer_in, out, rtol=0, atol=tol):
            sys.exit(
                f"{cell} L{layers} B{batch} {dtype}: step-by-step output differs from the module"
            )
    case |= {
        "expect/h_n": h_n.double().numpy(),
        "expect/logits": logits.double().numpy(),
        "expect/probs": logits.softmax(-1).double().numpy(),
    }
    case |= {
        "cell": np.array(cell),
        "dtype": np.array(str(dtype).removeprefix("torch.")),
        "torch_version": np.array(torch.__version__),
    }
    return case


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    seed = 0
    for cell in CELLS:
        for layers in (1, 2):
            for batch in (1, 3):
                seed += 1
                for dtype in (torch.float64, torch.float32):
                    case = make_case(cell, layers, batch, dtype, seed)
                    name = f"{cell}_L{layers}_B{batch}_{case['dtype']}.npz"
                    np.savez_compressed(OUT / name, **case)
                    print(name)


if __name__ == "__main__":
    main()
