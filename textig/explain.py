"""Explain one caption: features, scores, feature-level IG and its back-projection onto words.

This is the one place where the layers meet. An ``Explainer`` is built once per (embedder,
model) and reused for many captions. It sees the model only through the model protocol
(``textig.models``): the scores it explains are the scorer's (for AnnexML the brute-force
votes, the ones exact IG explains), and the IG method is the best the scorer offers. The result
is plain data (``textig.explanation``); ``textig.report`` renders it.
"""

from __future__ import annotations

import difflib
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from embeddings.base import Embedder, WordScore
from embeddings.text import controls_as_spaces
from textig.attribution import (
    IGResult,
    gradient_x_input,
    integrated_gradients,
    is_scale_invariant,
)
from textig.attribution.exact import exact_integrated_gradients
from textig.baselines import caption_baseline, usable_rows
from textig.caption_text import check_caption
from textig.errors import TextigError
from textig.explanation import Explanation, LabelExplanation
from textig.models import (
    HasGradients,
    HasNeighbours,
    HasPathJumps,
    Neighbour,
    Scorer,
    as_scorer,
    capabilities,
    feature_mean,
)
from textig.ranking import rank_labels
from textig.settings import DEFAULTS, ExplainSettings


def _cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norm) if norm > 0 else None


def _top(values: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k entries of largest magnitude, largest first (ties: lower index first)."""
    order = np.argsort(-np.abs(values), kind="stable")[:k]
    return [(int(i), float(values[i])) for i in order if values[i] != 0]


def resolve_method(method: str, scorer: Scorer) -> str:
    """The IG method that runs: "auto" picks the best the model offers."""
    offered = {
        "exact": isinstance(scorer, HasPathJumps),
        "gradients": isinstance(scorer, HasGradients),
        "estimate": True,
    }
    if method == "auto":
        return next(name for name, ok in offered.items() if ok)
    if not offered[method]:
        has = ", ".join(capabilities(scorer)) or "scores only"
        raise TextigError(
            f"method {method!r} needs a model that offers "
            f"{'path jumps' if method == 'exact' else 'gradients'}; this "
            f"{scorer.describe().get('class', 'model')} offers: {has}"
        )
    return method


def scale_invariant(scorer: Scorer) -> bool:
    """Whether the scorer ignores its input's scale: declared, else probed on a fixed point."""
    declared = getattr(scorer, "scale_invariant", None)
    if declared is not None:
        return bool(declared)
    probe = np.random.default_rng(0).normal(size=scorer.dim)
    return is_scale_invariant(scorer, probe)


class Explainer:
    """Explains captions for one (embedder, model) pair.

    ``model``: any object ``textig.models.as_scorer`` accepts (textig's AnnexML, scikit-learn
    estimators, torch modules, or an object satisfying ``textig.models.Scorer``). ``settings``
    (``textig.settings.ExplainSettings``), with keyword ``changes`` on top (e.g.
    ``baseline="mean"``, ``method="exact"``). ``labels`` names the model's label columns when
    the model does not carry names. Without ``training_features`` the "mean" baseline is the
    one the model recorded when it was fitted. ``training_captions``: (caption id, text, label
    ids) of each row the model was trained on, in order, so that evidence from models with
    neighbours names its captions (a row whose labels are not the model's is left unnamed).
    """

    def __init__(
        self,
        embedder: Embedder,
        model: Any,
        *,
        settings: ExplainSettings | None = None,
        training_features: Any = None,
        labels: Sequence[str] | None = None,
        model_path: str | None = None,
        training_captions: Sequence[tuple[str, str, Sequence[int]]] | None = None,
        **changes: Any,
    ) -> None:
        settings = (settings or DEFAULTS).but(**changes)
        self.embedder = embedder
        self.scorer = as_scorer(model, labels=labels, path=model_path)
        self.scorer.check_features(embedder.identity, embedder.dim)
        self.settings = settings.but(
            method=resolve_method(settings.method, self.scorer),
            word_method=embedder.back_projection(settings.word_method),
            device=embedder.use_device(settings.device),
        )
        self.vocabulary = [str(label) for label in self.scorer.labels]
        self._training_features = training_features
        self._training_captions = training_captions
        mean = feature_mean(self.scorer)
        self._baseline_kind, self._fixed_baseline = caption_baseline(
            settings.baseline,
            embedder,
            training_features if training_features is not None else _as_row(mean),
            scale_invariant=scale_invariant(self.scorer),
        )

    def with_baseline(self, baseline: str | np.ndarray) -> Explainer:
        """The same explainer (embedder, model, settings) from another baseline."""
        return Explainer(
            self.embedder,
            self.scorer,
            settings=self.settings.but(baseline=baseline),
            training_features=self._training_features,
            training_captions=self._training_captions,
        )

    def why_not(
        self,
        text: str,
        label: str | int,
        *,
        reference: str | None = None,
        true_labels: Sequence[str] | None = None,
        caption_id: str | None = None,
    ) -> Explanation:
        """Explain why ``text`` does not get ``label`` (or gets less of it than expected).

        IG against a caption that does get the label: ``reference`` (a caption text), by
        default the nearest training caption the model gives ``label`` among its top 5. The
        words then show what separates the two captions for this label.
        """
        [label_id] = self.label_ids([label])
        reference = reference if reference is not None else self.contrast_caption(text, label_id)
        explanation = self.with_baseline(f"text:{reference}").explain(
            text, labels=[label_id], true_labels=true_labels, caption_id=caption_id
        )
        why = (
            f"why not {self.vocabulary[label_id]}? Explained against a caption that gets it "
            f"(score {explanation.labels[0].baseline_score:g}): {reference!r}"
        )
        return replace(explanation, notes=[why, *explanation.notes])

    def contrast_caption(self, text: str, label_id: int, *, top: int = 5) -> str:
        """The training caption closest to ``text`` (cosine of the features) among those that
        carry the label and that the model gives it among its ``top`` labels (else the
        closest that carries it)."""
        if self._training_captions is None or self._training_features is None:
            raise TextigError(
                "why-not needs the model's training captions and their features: pass --data "
                "with the model's training data (or give a reference caption)"
            )
        X = usable_rows(self._training_features)
        carry = np.array(
            [i for i, row in enumerate(self._training_captions) if label_id in row[2]], dtype=int
        )
        if carry.size == 0:
            raise TextigError(f"no training caption carries {self.vocabulary[label_id]!r}")
        x = self._encode(text)
        norms = np.linalg.norm(X[carry], axis=1) * np.linalg.norm(x)
        order = carry[np.argsort(-(X[carry] @ x) / np.where(norms > 0, norms, 1.0), kind="stable")]
        for start in range(0, len(order), 64):
            chunk = order[start : start + 64]
            scores = self.scorer(X[chunk])
            ranked = rank_labels(scores, top)
            for row, index in enumerate(chunk):
                if label_id in ranked[row] and scores[row, label_id] > 0:
                    return self._training_captions[index][1]
        return self._training_captions[order[0]][1]

    def baseline_for(self, text: str) -> np.ndarray:
        """The feature baseline x' used for ``text``."""
        if self._fixed_baseline is not None:
            return self._fixed_baseline
        return np.asarray(self.embedder.neutral_baseline(text), dtype=np.float64)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Brute-force label scores (n, L) of captions."""
        return self.scorer(np.asarray(self.embedder.encode(list(texts)), dtype=np.float64))

    def top_labels(self, text: str, k: int) -> list[str]:
        """Names of the (at most) k best-scoring labels with a positive score."""
        scores = self.scores([text])[0]
        return [self.vocabulary[i] for i in rank_labels(scores)[:k] if scores[i] > 0]

    def label_ids(self, labels: Sequence[str | int]) -> list[int]:
        """Label names or ids -> ids; an unknown name lists the closest known ones."""
        index = {name: i for i, name in enumerate(self.vocabulary)}
        ids = []
        for label in labels:
            if isinstance(label, int | np.integer) and not isinstance(label, bool):
                if not 0 <= label < len(self.vocabulary):
                    raise TextigError(f"label id {label} is outside 0..{len(self.vocabulary) - 1}")
                ids.append(int(label))
            elif str(label) in index:
                ids.append(index[str(label)])
            else:
                close = difflib.get_close_matches(str(label), self.vocabulary, n=5, cutoff=0.6)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise TextigError(f"unknown label {label!r}{hint}")
        return list(dict.fromkeys(ids))

    def explain(
        self,
        text: str,
        *,
        labels: str | Sequence[str | int] = "top5",
        true_labels: Sequence[str] | None = None,
        caption_id: str | None = None,
    ) -> Explanation:
        """Explain ``labels`` ("topN", "true", or names/ids, predicted or not) for one caption."""
        text = _check_text(text)
        clock: dict[str, float] = {}
        started = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            x = _timed(clock, "encode", lambda: self._encode(text))
            baseline = _timed(clock, "baseline", lambda: self.baseline_for(text))
            scores = _timed(clock, "score", lambda: self.scorer(np.stack([x, baseline])))
            targets = self._targets(labels, scores[0], true_labels)
            ig = _timed(clock, "ig", lambda: self._feature_ig(x, baseline, targets))
            gxi = _timed(clock, "gradient_x_input", lambda: self._gxi(x, baseline, targets))
            words = _timed(clock, "words", lambda: self._words(text, ig.gbar, baseline))
            found = _timed(clock, "neighbours", lambda: self._neighbours(x))
        clock["total"] = time.perf_counter() - started
        truth = None if true_labels is None else set(true_labels)
        events = self._events(targets, ig)
        return Explanation(
            caption=text,
            caption_id=caption_id,
            embedder={k: getattr(self.embedder, k) for k in ("name", "identity", "dim")},
            model=self._model_info(),
            baseline=self._baseline_info(baseline, scores[1]),
            settings=self._settings(ig),
            labels=[
                self._label(t, scores, ig, row, gxi[row], words[row], truth, found, events[row])
                for row, t in enumerate(targets)
            ],
            predicted=self._predicted(scores[0]),
            true_labels=None if true_labels is None else list(true_labels),
            timings={k: round(v, 6) for k, v in clock.items()},
            notes=_notes(caught),
        )

    def _model_info(self) -> dict[str, Any]:
        """The model's description, with the highest score it can give (vote models) so
        reports can show a score as a share of it."""
        info = self.scorer.describe()
        top = getattr(self.scorer, "max_score", None)
        return info if top is None else {**info, "max_score": float(top)}

    def _encode(self, text: str) -> np.ndarray:
        return np.asarray(self.embedder.encode([text])[0], dtype=np.float64)

    def _targets(
        self, labels: str | Sequence[str | int], f_x: np.ndarray, true_labels: Sequence[str] | None
    ) -> np.ndarray:
        if isinstance(labels, str) and labels == "true":
            if not true_labels:
                raise TextigError("labels='true' needs the caption's true labels")
            return np.array(self.label_ids(list(true_labels)), dtype=np.int64)
        if isinstance(labels, str) and labels.startswith("top") and labels[3:].isdigit():
            ranked = rank_labels(f_x)[: int(labels[3:])]
            chosen = [int(i) for i in ranked if f_x[i] > 0]
            if not chosen:
                raise TextigError("the model gives no label a positive score for this caption")
            return np.array(chosen, dtype=np.int64)
        if isinstance(labels, str):
            raise TextigError(f"labels must be topN, 'true' or a list of labels, not {labels!r}")
        if not labels:
            raise TextigError("no labels to explain")
        return np.array(self.label_ids(list(labels)), dtype=np.int64)

    def _feature_ig(self, x: np.ndarray, baseline: np.ndarray, targets: np.ndarray) -> IGResult:
        method, settings = self.settings.method, self.settings
        if method == "exact":
            return exact_integrated_gradients(self.scorer, x, baseline, targets=targets)
        if method == "gradients":
            from textig.attribution.autograd import gradient_integrated_gradients

            return gradient_integrated_gradients(
                self.scorer, x, baseline, targets=targets, steps=settings.steps,
                method=settings.quadrature or "gausslegendre",
            )  # fmt: skip
        return integrated_gradients(
            self.scorer, x, baseline, targets=targets, steps=settings.steps,
            method=settings.quadrature, seed=settings.seed,
        )  # fmt: skip

    def _gxi(self, x: np.ndarray, baseline: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Finite-difference gradient at x times (x - x'), (T, d), for comparison with IG; zero
        (not computed) where exact IG runs: a step function's gradient says nothing there."""
        if self.settings.method == "exact":
            return np.zeros((len(targets), x.shape[0]))
        return gradient_x_input(self.scorer, x, baseline, targets=targets)

    def _words(self, text: str, gbar: np.ndarray, baseline: np.ndarray) -> list[list[WordScore]]:
        method, steps = self.settings.word_method, self.settings.word_steps
        return self.embedder.word_attributions(text, gbar, baseline, method=method, steps=steps)

    def _label(
        self,
        target: int,
        scores: np.ndarray,
        ig: IGResult,
        row: int,
        gxi: np.ndarray,
        words: list[WordScore],
        truth: set[str] | None,
        neighbours: list[Neighbour] | None,
        events: list[dict] | None,
    ) -> LabelExplanation:
        attributions = np.asarray(ig.attributions[row], dtype=np.float64)
        total = float(attributions.sum())
        word_sum = float(sum(w.score for w in words))
        name = self.vocabulary[int(target)]
        return LabelExplanation(
            label=name,
            label_id=int(target),
            score=float(scores[0, target]),
            baseline_score=float(scores[1, target]),
            true=None if truth is None else name in truth,
            predicted_rank=int(np.flatnonzero(rank_labels(scores[0]) == target)[0]) + 1,
            completeness_error=float(ig.completeness_error[row]),
            raw_completeness_error=float(ig.raw_completeness_error[row]),
            attribution_sum=total,
            word_sum=word_sum,
            word_gap=_relative_gap(word_sum, total, float(np.abs(attributions).sum())),
            features=_top(attributions, self.settings.top_features),
            gradient_x_input=_top(gxi, self.settings.top_features),
            ig_gxi_cosine=_cosine(attributions, gxi),
            words=list(words),
            evidence=self._evidence(int(target), neighbours),
            events=events,
        )

    def _neighbours(self, x: np.ndarray) -> list[Neighbour] | None:
        return self.scorer.neighbours(x) if isinstance(self.scorer, HasNeighbours) else None

    def _item(self, index: int, labels: Sequence[int] | None = None) -> dict[str, Any]:
        """A training row by its index, named by its caption when the captions are known and
        the row's labels (if given) are the caption's."""
        known = self._training_captions
        caption_id = text = None
        if known is not None and 0 <= index < len(known):
            row = known[index]
            if labels is None or sorted(labels) == sorted(row[2]):
                caption_id, text = row[0], row[1]
        return {"index": index, "caption_id": caption_id, "text": text}

    def _evidence(self, target: int, neighbours: list[Neighbour] | None) -> list[dict] | None:
        """The neighbours that carry ``target``: their weights add up to its score."""
        if neighbours is None:
            return None
        return [
            {
                **self._item(n.index, n.labels),
                "weight": n.weight,
                "labels": [self.vocabulary[label] for label in n.labels],
            }
            for n in neighbours
            if target in n.labels
        ]

    def _events(self, targets: np.ndarray, ig: IGResult) -> list[list[dict] | None]:
        """Per target, exact IG's path jumps that changed it: where, by how much, and who
        moved (described once per jump, shared by the labels it changed)."""
        if ig.estimator != "exact":
            return [None] * len(targets)
        found: dict[int, list[dict]] = {int(t): [] for t in targets}
        for jump in ig.jumps:
            changed = [t for t in found if jump.label_delta.get(t)]
            if not changed:
                continue
            movers = {
                "entering": [self._item(i) for i in jump.detail.get("entering", ())],
                "leaving": [self._item(i) for i in jump.detail.get("leaving", ())],
            }
            for t in changed:
                found[t].append(
                    {
                        "alpha": float(jump.alpha),
                        "delta": float(jump.label_delta[t]),
                        "kind": jump.detail.get("kind"),
                        **movers,
                    }
                )
        return [found[int(t)] for t in targets]

    def _baseline_info(self, baseline: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        top = [int(i) for i in rank_labels(scores)[:5] if scores[i] > 0]
        return {
            "kind": self._baseline_kind,
            "norm": float(np.linalg.norm(baseline)),
            "top_labels": [{"label": self.vocabulary[i], "score": float(scores[i])} for i in top],
        }

    def _settings(self, ig: IGResult) -> dict[str, Any]:
        """The settings that ran, and what the method reports about its run."""
        word_method = self.settings.word_method
        return {
            **self.settings.to_dict(),
            "baseline": self._baseline_kind,
            "estimator": ig.estimator,
            "quadrature": ig.method,
            "steps_used": _plain(ig.steps_used),  # per label, in label order
            "step_budget": ig.step_budget,  # the most a label could use (piecewise estimator)
            "converged": _plain(ig.converged),  # per label: raw completeness error <= 5 %
            "n_evaluations": _plain(ig.n_evaluations),
            "path_jumps": len(ig.jumps) if ig.estimator == "exact" else None,
            "word_sum_rule": word_method in self.embedder.complete_back_projections,
            "scores": self.scorer.describe().get("scores", "model"),
        }

    def _predicted(self, f_x: np.ndarray, k: int = 10) -> list[dict[str, Any]]:
        return [
            {"label": self.vocabulary[i], "label_id": int(i), "score": float(f_x[i])}
            for i in rank_labels(f_x)[:k]
            if f_x[i] > 0
        ]


def shared_labels(explainers: Sequence[Explainer], text: str, labels: Any) -> Any:
    """The labels several explainers should all explain: for topN, the union of each one's top
    N (first explainer first) that every model knows; other choices pass through."""
    if not (isinstance(labels, str) and labels.startswith("top")):
        return labels
    chosen = [name for e in explainers for name in e.top_labels(text, int(labels[3:]))]
    if not chosen:
        raise TextigError("no model gives any label a positive score for this caption")
    known = set.intersection(*(set(e.vocabulary) for e in explainers))
    shared = [name for name in dict.fromkeys(chosen) if name in known]
    if not shared:
        raise TextigError(f"the models share no label among their {labels} predictions")
    return shared


def _relative_gap(words: float, features: float, magnitude: float) -> float | None:
    """|words - features| / |features|; None when the feature sum is ~0 (rounding noise only)."""
    if abs(features) <= 1e-9 * magnitude or features == 0:
        return None
    return abs(words - features) / abs(features)


def _notes(caught: list[warnings.WarningMessage]) -> list[str]:
    """User-facing warnings raised while explaining (e.g. SBERT truncation), each once."""
    shown = (str(w.message) for w in caught if issubclass(w.category, UserWarning))
    return list(dict.fromkeys(shown))


def _as_row(mean: np.ndarray | None) -> np.ndarray | None:
    """A recorded training mean as one training row (the form baselines take)."""
    return None if mean is None else mean[None]


def _plain(value: Any) -> Any:
    """numpy scalars/arrays -> JSON-ready Python values."""
    return value.tolist() if isinstance(value, np.ndarray | np.generic) else value


def _timed(clock: dict[str, float], name: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    clock[name] = time.perf_counter() - started
    return result


def _check_text(text: str) -> str:
    """The caption as explained: valid, within the cap, control characters as spaces (they
    separate words, and never reach a report)."""
    text = controls_as_spaces(check_caption(text))
    if not text.strip():
        raise TextigError("the caption is empty: nothing to explain")
    return text
