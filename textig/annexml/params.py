"""AnnexML's parameters: names, defaults and the one check of their values.

Training and loading a model file check parameters with the same function, so a file can
never hold a value ``train`` would refuse (a NaN learning rate, ``pred_type=7``, a string
where a count belongs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

from textig.errors import TextigError
from textig.limits import MAX_EMB_SIZE, MAX_LEARNERS, MAX_NUM_NN

DEFAULTS: dict[str, Any] = {
    "emb_size": 50,
    "num_learner": 15,
    "num_nn": 10,
    "cls_type": 1,
    "cls_iter": 10,
    "emb_iter": 10,
    "label_normalize": 1,
    "eta0": 0.1,
    "lam": 4.0,
    "gamma": 10.0,
    "pred_type": 1,
    "num_edge": 50,
    "search_eps": 0.0,
    "seed": 0,
    "score": "votes",
}
SCORES = ("votes", "similarity")
_COUNTS = {"emb_size": MAX_EMB_SIZE, "num_learner": MAX_LEARNERS, "num_nn": MAX_NUM_NN}
_SWITCHES = ("cls_type", "pred_type", "label_normalize")
_NON_NEGATIVE = ("cls_iter", "emb_iter", "num_edge", "seed")


def _kind_error(name: str, value: Any) -> str | None:
    """Why ``value`` has the wrong type for parameter ``name``, or None."""
    default = DEFAULTS[name]
    if isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, int):
        ok = isinstance(value, Integral) and not isinstance(value, bool)
    else:
        ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    return None if ok else f"AnnexML parameter {name} must be a finite {type(default).__name__}"


def _range_error(name: str, value: Any) -> str | None:
    """Why ``value`` is outside what training accepts for ``name``, or None."""
    if name in _COUNTS and not 1 <= value <= _COUNTS[name]:
        return f"AnnexML parameter {name} must be in 1..{_COUNTS[name]}, not {value}"
    if name in _SWITCHES and value not in (0, 1):
        return f"AnnexML parameter {name} must be 0 or 1, not {value}"
    if name in _NON_NEGATIVE and value < 0:
        return f"AnnexML parameter {name} must be >= 0, not {value}"
    if name == "eta0" and value <= 0:
        return f"AnnexML parameter eta0 must be > 0, not {value}"
    if name in ("lam", "search_eps") and value < 0:
        return f"AnnexML parameter {name} must be >= 0, not {value}"
    if name == "score" and value not in SCORES:
        return f"AnnexML score must be 'votes' or 'similarity', not {value!r}"
    return None


def check_params(params: Mapping[str, Any], *, complete: bool = False) -> None:
    """Refuse unknown names, wrong types, non-finite numbers and out-of-range values.

    ``complete``: every parameter must be present (a model file's header).
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise TextigError(
            f"unknown AnnexML parameter(s) {', '.join(unknown)} (known: {', '.join(DEFAULTS)})"
        )
    missing = sorted(set(DEFAULTS) - set(params)) if complete else []
    if missing:
        raise TextigError(f"AnnexML parameter(s) {', '.join(missing)} missing")
    for name, value in params.items():
        if reason := _kind_error(name, value) or _range_error(name, value):
            raise TextigError(reason)
