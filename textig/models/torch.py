"""Adapter: a torch module (n, d) -> (n, L) as a scorer with gradients (autograd IG).

torch is an optional extra (``pip install textig[torch]``): it is imported only when a torch
module is explained. The module is put in eval mode (dropout and batch-norm statistics
fixed), so its scores are deterministic; its parameters are not changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textig.errors import TextigError
from textig.models.protocol import check_feature_identity


def _input_dim(module: Any) -> int | None:
    """in_features of the module's first layer that declares one (Linear, Bilinear...)."""
    for layer in module.modules():
        dim = getattr(layer, "in_features", None)
        if isinstance(dim, int) and dim > 0:
            return dim
    return None


class TorchScorer:
    """A torch module's outputs as scores, and their input gradients for autograd IG.

    ``dim``: the feature dimension (default: the first layer's ``in_features``). ``labels``:
    names of the output columns (default "0".."L-1"). ``embedder``: the identity of the
    embedder the module was trained on, if known (then features of another are refused).
    """

    scale_invariant = False

    def __init__(
        self,
        module: Any,
        *,
        labels: Sequence[str] | None = None,
        path: str | None = None,
        dim: int | None = None,
        embedder: str | None = None,
        feature_mean: np.ndarray | None = None,
    ) -> None:
        import torch

        if not isinstance(module, torch.nn.Module):
            raise TextigError(f"a torch scorer needs an nn.Module, not {type(module).__name__}")
        self.module, self.path, self.embedder = module.eval(), path, embedder
        found = dim if dim is not None else _input_dim(module)
        if found is None:
            raise TextigError(
                "cannot tell the module's input dimension: wrap it as "
                "TorchScorer(module, dim=D, labels=...)"
            )
        self.dim = int(found)
        parameter = next(module.parameters(), None)
        self._dtype = parameter.dtype if parameter is not None else torch.float64
        n_labels = self(np.zeros((1, self.dim))).shape[1]
        self.labels = list(labels) if labels is not None else [str(i) for i in range(n_labels)]
        if len(self.labels) != n_labels:
            raise TextigError(f"the module has {n_labels} outputs, {len(self.labels)} names given")
        self.feature_mean = feature_mean

    def check_features(self, identity: str | None, dim: int) -> None:
        check_feature_identity(self.dim, self.embedder, identity, dim)

    def _forward(self, X: Any) -> Any:
        out = self.module(X)
        if out.ndim != 2 or out.shape[0] != X.shape[0]:
            raise TextigError(f"the module returned shape {tuple(out.shape)}, expected (n, L)")
        return out

    def __call__(self, X: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            inputs = torch.as_tensor(np.asarray(X, dtype=np.float64), dtype=self._dtype)
            return self._forward(inputs).detach().to(torch.float64).numpy()

    def gradients(self, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """∂F_t/∂x at each row of X: (n, T, d) float64, one backward pass per target."""
        import torch

        inputs = torch.as_tensor(np.asarray(X, dtype=np.float64), dtype=self._dtype)
        inputs.requires_grad_(True)
        out = self._forward(inputs)
        grads = np.empty((len(X), len(targets), self.dim))
        for row, target in enumerate(np.asarray(targets, dtype=np.int64)):
            (grad,) = torch.autograd.grad(out[:, int(target)].sum(), inputs, retain_graph=True)
            grads[:, row] = grad.detach().to(torch.float64).numpy()
        return grads

    def describe(self) -> dict[str, Any]:
        return {
            "class": type(self.module).__name__,
            "path": self.path,
            "scores": "module outputs",
            "parameters": int(sum(p.numel() for p in self.module.parameters())),
        }
