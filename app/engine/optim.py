"""Adam and global-norm gradient clipping for dicts of NumPy arrays (Kingma & Ba 2015)."""

from collections.abc import Mapping, MutableMapping

import numpy as np


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """sqrt of the sum of squares of every entry of every gradient."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def clip_global_norm(
    grads: Mapping[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Scale all gradients by one factor so that their global norm is at most max_norm.

    Returns (clipped copies, the norm before clipping). Direction is kept, only length changes;
    a non-finite norm is refused because one bad step would ruin every weight.
    """
    if max_norm <= 0:
        raise ValueError(f"max_norm is {max_norm}, must be positive")
    norm = global_norm(grads)
    if not np.isfinite(norm):
        bad = next(k for k, g in grads.items() if not np.all(np.isfinite(g)))
        raise FloatingPointError(f"gradient of {bad} is not finite")
    scale = min(1.0, max_norm / (norm + 1e-12))
    return {k: g * scale for k, g in grads.items()}, norm


class Adam:
    """Adam on a dict of float arrays, updated in place.

        m = b1 m + (1 - b1) g                       first moment
        v = b2 v + (1 - b2) g^2                     second moment
        p -= lr * m_hat / (sqrt(v_hat) + eps)       m_hat = m / (1 - b1^t), v_hat likewise

    This is PyTorch's torch.optim.Adam without weight decay, step for step.
    """

    def __init__(
        self,
        params: Mapping[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if lr <= 0:
            raise ValueError(f"lr is {lr}, must be positive")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas are {betas}, each must be in [0, 1)")
        self.lr = lr
        self.b1, self.b2 = betas
        self.eps = eps
        self.t = 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(
        self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]
    ) -> None:
        """One update of every tensor in params from grads of the same names and shapes."""
        missing = sorted(set(self.m) - set(grads))
        if missing:
            raise KeyError(f"no gradient for {missing[0]}")
        self.t += 1
        c1 = 1.0 - self.b1**self.t
        c2 = 1.0 - self.b2**self.t
        for k, g in grads.items():
            if g.shape != self.m[k].shape:
                raise ValueError(f"gradient of {k} has shape {g.shape}, expected {self.m[k].shape}")
            m, v = self.m[k], self.v[k]
            m *= self.b1
            m += (1.0 - self.b1) * g  # first moment
            v *= self.b2
            v += (1.0 - self.b2) * g * g  # second moment
            denom = np.sqrt(v / c2)
            denom += self.eps
            params[k] -= self.lr * (m / c1) / denom  # bias-corrected step
