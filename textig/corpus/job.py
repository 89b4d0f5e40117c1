"""What a corpus run computes, as plain data that travels to every worker, and its hash.

A ``CorpusJob`` is JSON-ready so that the Ray engine can ship it to actors on other machines;
each worker rebuilds the same explainers from it (``build_explainers``). The settings hash
covers everything that changes a row's numbers — the data's checksum, the embedder's and the
model file's identities, the resolved explanation settings, the labels explained, whether the
evaluation runs and the row schema — so rows of different settings never mix and a rerun
with the same settings finds its finished captions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textig._utils import sha256_file
from textig.errors import TextigError
from textig.settings import ExplainSettings

if TYPE_CHECKING:
    from embeddings.base import Embedder
    from textig.data import Dataset
    from textig.explain import Explainer

SCHEMA_VERSION = 1
SPLITS = ("test", "train", "all")


@dataclass(frozen=True)
class CorpusJob:
    """One corpus run's inputs.

    data: the data folder (every worker must be able to read it); model: a model file, a
    textig AnnexML ``.npz`` or a reference ``.bin`` (every worker reads it; without
    ``--model`` the driver trains or loads the cached one and passes its path). settings:
    ``ExplainSettings`` fields. top_k: the top-k predicted labels are explained. evaluate:
    also the faithfulness deletion curves and the original back-projection's word scores.
    threads: BLAS/torch threads per worker (the same in both engines, so rows are identical).
    """

    data: str
    embedder: str
    model: str
    settings: dict[str, Any] = field(default_factory=dict)
    top_k: int = 5
    evaluate: bool = True
    threads: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            raise TextigError(f"--top must be a positive integer, got {self.top_k!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise TextigError(f"--threads must be a positive integer, got {self.threads!r}")
        ExplainSettings().but(**self.settings)  # validates names and values early

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_model_file(path: str | Path, dataset: Dataset) -> Any:
    """A model file: textig AnnexML (npz archive) or reference C++ ``.bin`` (labels named by
    the dataset)."""
    from textig.annexml import AnnexML, is_reference_file, read_reference_model

    path = Path(path)
    if not path.is_file():
        raise TextigError(f"{path}: model file not found")
    return (
        read_reference_model(path, dataset.vocabulary)
        if is_reference_file(path)
        else (AnnexML.load(path))
    )


def build_explainers(job: CorpusJob) -> tuple[Explainer, Explainer | None, Dataset]:
    """(explainer, its twin with the original back-projection or None, dataset) for a job."""
    from embeddings import get_embedder
    from textig.baselines import needs_training_features
    from textig.data import load_dataset
    from textig.evaluation.corpus import ORIGINAL_METHODS
    from textig.explain import Explainer
    from textig.features import embed_split
    from textig.models import as_scorer, feature_mean

    dataset = load_dataset(job.data)
    embedder = get_embedder(job.embedder)
    scorer = as_scorer(load_model_file(job.model, dataset), labels=dataset.vocabulary)
    settings = ExplainSettings().but(**job.settings)
    training = None
    if needs_training_features(embedder, settings.baseline) and feature_mean(scorer) is None:
        training = embed_split(embedder, dataset, "train", warn_skipped=False, progress=False)
    explainer = Explainer(embedder, scorer, settings=settings, training_features=training)
    original = ORIGINAL_METHODS.get(embedder.name)
    twin = None
    if job.evaluate and original in embedder.back_projection_methods:
        twin = Explainer(
            embedder, scorer, settings=settings.but(word_method=original),
            training_features=training,
        )  # fmt: skip
    return explainer, twin, dataset


def resolved_settings(
    job: CorpusJob, dataset: Dataset, explainer: Explainer, twin: Explainer | None
) -> dict:
    """Everything that changes a row's numbers (the settings hash is taken over this)."""
    from textig.limits import MAX_CAPTION_CHARS

    return {
        "schema": SCHEMA_VERSION,
        "dataset": dataset.checksum(),
        "embedder": explainer.embedder.identity,
        "model": sha256_file(job.model),
        # where the work ran is not what it computed: a driver that sees a GPU and actors that
        # do not (Ray hides GPUs from actors without num_gpus) must agree on the hash
        "settings": {k: v for k, v in explainer.settings.to_dict().items() if k != "device"},
        "original_word_method": twin.settings.word_method if twin else None,
        "top_k": job.top_k,
        "max_caption_chars": MAX_CAPTION_CHARS,
    }


def settings_hash(resolved: dict) -> str:
    """sha256 of the resolved settings' canonical JSON."""
    blob = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def select_captions(dataset: Dataset, split: str, n: int | None) -> list:
    """The captions of ``split`` (test, train or all = test then train), the first n if given."""
    if split not in SPLITS:
        raise TextigError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    captions = [*dataset.test, *dataset.train] if split == "all" else dataset.split(split)
    if n is not None:
        if n < 1:
            raise TextigError(f"--n must be at least 1, got {n}")
        captions = captions[:n]
    if not captions:
        raise TextigError(f"the {split} split of {dataset.name} has no caption")
    return captions


def resolve_model(embedder: Embedder, dataset: Dataset, model: str | Path | None) -> str:
    """The model file a job uses: the one given, else the cached model trained on ``dataset``
    (trained now if not cached)."""
    if model is not None:
        if not Path(model).is_file():
            raise TextigError(f"{model}: model file not found")
        return str(Path(model).resolve())
    from textig.training import model_cache_path, resolve_params, train_or_load

    train_or_load(embedder, dataset)
    return str(model_cache_path(embedder, dataset, resolve_params(None)))
