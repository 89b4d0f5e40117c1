"""`textig explain`: explain one caption, or a batch of dataset captions, as HTML + JSON reports.

The setup helpers here (data, model, explainer, caption selection, batch loop) are shared with
`textig compare`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textig.cli.arguments import positive_int
from textig.errors import TextigError, UsageError
from textig.settings import (
    DEFAULTS,
    DEVICE_HELP,
    DEVICES,
    METHOD_HELP,
    METHODS,
    STEPS_HELP,
    ExplainSettings,
)

if TYPE_CHECKING:
    from embeddings.base import Embedder
    from textig.data import Caption, Dataset
    from textig.explain import Explainer
    from textig.report import IndexEntry

DEFAULT_OUT = Path("textig-reports")
WHY_NOT = "why-not:"

_EPILOG = """\
Without --model, a model is trained once on --data (default: the bundled demo corpus) and
cached. LABELS: topN (the N best-scoring labels, default top5), "true" (the caption's labels
in the dataset), a comma-separated list of label names (any label, predicted or not), or
why-not:LABEL (why the caption does not get LABEL: explained against the nearest training
caption the model gives LABEL, or against --baseline text:CAPTION).
BASELINE: auto (GloVe: training mean; SBERT: the caption with its content words masked), mean,
neutral, zero (not for AnnexML, which normalises its input), text:CAPTION. Several --baseline
options make a baseline study: one report explaining the same labels from each baseline side by
side. Batch mode (no CAPTION; --captions FILE, --n or --ids) explains many captions in one
process: one report per caption, named after its id (or text) plus a content hash, and an
index.html with its JSON twin index.json listing every caption's predictions, true labels and
any error (a caption that fails does not stop the others).
"""


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options `explain` and `compare` share."""
    parser.add_argument("caption", nargs="?", help="the caption to explain (omit for batch mode)")
    parser.add_argument("--data", type=Path, help="data folder (default: bundled demo corpus)")
    parser.add_argument(
        "--labels", default="top5", help="topN, true, LABEL,LABEL,..., or why-not:LABEL"
    )
    parser.add_argument(
        "--baseline",
        action="append",
        help="auto (default), mean, neutral, zero, text:CAPTION; repeat for a baseline study",
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=DEFAULTS.steps,
        help=STEPS_HELP,
    )
    parser.add_argument("--method", choices=METHODS, default=DEFAULTS.method, help=METHOD_HELP)
    parser.add_argument(
        "--word-steps",
        type=positive_int,
        default=DEFAULTS.word_steps,
        help="Gauss points per path stretch of SBERT's word IG (default: the embedder's, 12)",
    )
    parser.add_argument("--device", choices=DEVICES, default=DEFAULTS.device, help=DEVICE_HELP)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--name", help="report file name without extension")
    parser.add_argument("--seed", type=int, help="seed for training a model when none is given")
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument("--n", type=positive_int, help="batch: the first N captions of --split")
    batch.add_argument("--ids", help="batch: comma-separated caption ids")
    batch.add_argument(
        "--captions",
        metavar="FILE",
        help="batch: explain every line of FILE (one caption per line; '-' reads stdin)",
    )
    parser.add_argument("--split", choices=("train", "test"), default="test", help="batch split")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `explain` subcommand."""
    parser = subparsers.add_parser(
        "explain",
        help="explain a caption's labels down to words (HTML + JSON report)",
        description="Explain why the model gives a caption its labels, feature by feature and "
        "word by word, with Integrated Gradients.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--embedder",
        help="glove, sbert, sbert:/path, plug-in (default: the one --model records, else glove); "
        "required with a reference .bin model",
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="textig AnnexML model, a reference C++ AnnexML .bin, or a scikit-learn .skops "
        "(default: train/cached)",
    )
    parser.add_argument(
        "--word-method",
        default=DEFAULTS.word_method,
        help="words from features: default; glove additive|cosine|occlusion; "
        "sbert ig|jacobian_norm|occlusion",
    )
    parser.set_defaults(func=run)


def load_data(path: Path | None) -> Dataset:
    """The dataset at ``path``, or the bundled demo corpus."""
    from textig.data import load_dataset

    return load_dataset(path)


def read_model_file(path: Path, dataset: Dataset, labels_given: bool) -> Any:
    """The model in a file; the one place a model file's kind is decided.

    A skops archive is a scikit-learn model (read without pickle; a textig one carries its
    label names, embedder and training mean); another zip is a textig AnnexML npz; anything
    else is read as a reference C++ AnnexML ``.bin``, whose label ids the dataset names
    (``labels_given``: the user chose that dataset).
    """
    from textig.annexml import AnnexML, is_reference_file, read_reference_model
    from textig.models.sklearn import is_skops_file, load_skops

    if is_skops_file(path):
        return load_skops(path, labels=dataset.vocabulary if labels_given else None)
    if not is_reference_file(path):
        return AnnexML.load(path)
    if not labels_given:
        raise TextigError(
            f"{path} is a reference AnnexML model, which names no labels: pass --data "
            "with the dataset it was trained on"
        )
    return read_reference_model(path, dataset.vocabulary)


def load_model(
    embedder: Embedder,
    dataset: Dataset,
    path: Path | None,
    seed: int | None,
    labels_given: bool = True,
) -> Any:
    """The model at ``path``, or one trained once on ``dataset`` (cached by the trainer)."""
    if path is not None:
        return read_model_file(path, dataset, labels_given)
    from textig.training import train_or_load

    return train_or_load(embedder, dataset, params=None if seed is None else {"seed": seed})


def make_explainer(
    embedder_spec: str | None,
    model_path: Path | None,
    dataset: Dataset,
    args: argparse.Namespace,
    word_method: str = "default",
    need_training: bool = False,
) -> Explainer:
    """An Explainer for one embedder with its model, as the command-line options ask.

    ``embedder_spec`` None means the embedder a textig skops file records, else glove, except
    for a reference ``.bin``, which does not say which embedder made its features and so
    needs it named. ``need_training``: embed the training split even when no baseline needs
    it (why-not searches it for a contrast caption).
    """
    from embeddings import get_embedder
    from textig.annexml import is_reference_file
    from textig.baselines import check_baseline_spec, needs_training_features
    from textig.explain import Explainer
    from textig.features import embed_split
    from textig.models import as_scorer, feature_mean

    if embedder_spec is None and model_path is not None and is_reference_file(model_path):
        raise TextigError(
            f"{model_path} is a reference AnnexML model, which does not record its embedder: "
            "pass --embedder with the one that made its training features (e.g. glove)"
        )
    given = args.data is not None
    model = None if model_path is None else read_model_file(model_path, dataset, given)
    recorded = recorded_embedder(model)
    named = getattr(model, "embedder_name", None) or (recorded and builtin_spec(recorded))
    embedder = get_embedder(embedder_spec or named or "glove")
    if embedder_spec is not None and recorded is not None and recorded != embedder.identity:
        raise TextigError(
            f"--embedder {embedder_spec} conflicts with {model_path}, which was trained with "
            f"{recorded}: drop --embedder (the model's is used) or give a model of {embedder_spec}"
        )
    for spec in baseline_specs(args):
        check_baseline_spec(spec, embedder)
    own_vocabulary = model_path is not None and args.data is None  # the demo's may not fit
    scorer = as_scorer(
        model if model is not None else load_model(embedder, dataset, None, args.seed),
        labels=None if own_vocabulary else dataset.vocabulary,
        path=str(model_path) if model_path else None,
    )
    baselines = baseline_specs(args)
    training = None
    mean_like = [b for b in baselines if needs_training_features(embedder, b)]
    if need_training or (mean_like and feature_mean(scorer) is None):
        if model_path is not None and args.data is None:
            why = (
                "why-not searches the model's training captions"
                if need_training
                else f"the {mean_like[0]} baseline of {embedder.name} is the training-feature "
                "mean, which this model file does not carry"
            )
            raise TextigError(f"{why}: pass --data with its training data")
        training = embed_split(embedder, dataset, "train", warn_skipped=False)
    if own_vocabulary and (args.n or args.ids) and list(scorer.labels) != dataset.vocabulary:
        raise TextigError(
            f"the model's {len(scorer.labels)} labels are not the demo corpus's: batch mode "
            "needs --data with the model's data"
        )
    settings = ExplainSettings(
        method=args.method,
        steps=args.steps,
        word_method=word_method,
        word_steps=args.word_steps,
        device=args.device,
        baseline=baselines[0],
    )
    return Explainer(
        embedder,
        scorer,
        settings=settings,
        training_features=training,
        training_captions=training_captions(embedder, dataset, scorer, training),
    )


def recorded_embedder(model: Any) -> str | None:
    """The identity of the embedder a model file records (None: it records none)."""
    recorded = getattr(model, "embedder_identity_", None) or getattr(model, "embedder", None)
    return recorded if isinstance(recorded, str) else None


def builtin_spec(identity: str) -> str | None:
    """The built-in embedder spec whose identity looks like ``identity`` (glove, sbert)."""
    if identity.startswith("glove"):
        return "glove"
    if identity.startswith("sbert"):
        return "sbert"
    return None


def training_captions(
    embedder: Embedder, dataset: Dataset, scorer: Any, features: Any
) -> list[tuple[str, str, tuple[int, ...]]] | None:
    """(id, text, label ids) of the rows a neighbour model was trained on — the dataset's
    encodable training captions — when its labels are the model's and which captions were
    encodable is known without encoding them (features at hand or cached)."""
    from textig.features import cached_split
    from textig.models import HasNeighbours

    if not isinstance(scorer, HasNeighbours) or list(scorer.labels) != dataset.vocabulary:
        return None
    features = features if features is not None else cached_split(embedder, dataset, "train")
    if features is None:
        return None
    rows = [c for c, ok in zip(dataset.train, features.valid, strict=True) if ok]
    return [(c.id, c.text, tuple(c.label_ids)) for c in rows]


def baseline_specs(args: argparse.Namespace) -> list[str]:
    """The --baseline options given (each once, in order), or ["auto"]."""
    return list(dict.fromkeys(args.baseline or ["auto"]))


@dataclass(frozen=True)
class WhyNot:
    """--labels why-not:LABEL: explain LABEL against a caption that gets it."""

    label: str


def parse_labels(spec: str) -> str | list[str] | WhyNot:
    """--labels: "topN"/"true" pass through; why-not:LABEL; otherwise a list of names."""
    if spec == "true" or (spec.startswith("top") and spec[3:].isdigit()):
        return spec
    if spec.startswith(WHY_NOT):
        label = spec[len(WHY_NOT) :].strip()
        if not label or "," in label:
            raise TextigError("--labels why-not:LABEL takes exactly one label")
        return WhyNot(label)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise TextigError("--labels is empty")
    return names


def find_caption(dataset: Dataset, text: str, explainers: Sequence[Explainer]) -> Caption | None:
    """The dataset caption with exactly this text (for its id and true labels), if any and if
    the models name labels as the dataset does."""
    return caption_lookup(dataset, explainers).get(text)


def caption_lookup(dataset: Dataset, explainers: Sequence[Explainer]) -> dict[str, Caption]:
    """Dataset captions by text (test split first), or none when the models name labels
    otherwise than the dataset does."""
    if any(e.vocabulary != list(dataset.vocabulary) for e in explainers):
        return {}
    lookup: dict[str, Caption] = {}
    for caption in [*dataset.test, *dataset.train]:
        lookup.setdefault(caption.text, caption)
    return lookup


@dataclass(frozen=True)
class BatchItem:
    """One caption of a batch: its text, the dataset caption it is (if known), its line."""

    text: str
    known: Caption | None = None
    line: int | None = None  # line number in a --captions file
    error: str | None = None  # a line that could not be read

    @property
    def caption_id(self) -> str | None:
        return self.known.id if self.known else None


def read_captions(path: str) -> list[BatchItem]:
    """--captions FILE: one caption per line (``-``: standard input); blank lines are skipped.

    A line that is not valid UTF-8 becomes an item carrying its error, so the batch lists it
    and goes on.
    """
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as error:
        raise TextigError(f"cannot read --captions {path}: {error.strerror or error}") from None
    from textig.caption_text import caption_problem

    where = "stdin" if path == "-" else path
    items = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            text = line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as error:
            text = line.decode("utf-8", "replace").rstrip("\r")
            reason = f"{where}:{number}: not valid UTF-8 (byte {error.start + 1})"
            items.append(BatchItem(text, line=number, error=reason))
            continue
        if text.strip():
            problem = caption_problem(text)
            error = None if problem is None else f"{where}:{number}: {problem}"
            items.append(BatchItem(text, line=number, error=error))
    if not items:
        raise TextigError(f"--captions {where} holds no caption (one caption per line)")
    return items


def batch_items(dataset: Dataset, args: argparse.Namespace, explainers: Sequence[Explainer]):
    """The batch's captions: --captions FILE's lines (matched to dataset captions by text, for
    their ids and true labels), or the dataset captions --n / --ids select."""
    if args.captions is None:
        return [BatchItem(c.text, c) for c in select_captions(dataset, args)]
    lookup = caption_lookup(dataset, explainers)
    return [
        BatchItem(item.text, lookup.get(item.text), item.line, item.error)
        for item in read_captions(args.captions)
    ]


def select_captions(dataset: Dataset, args: argparse.Namespace) -> list[Caption]:
    """Batch mode's captions: the first --n of the split, or those named by --ids."""
    captions = dataset.split(args.split)
    if args.ids is None:
        if args.n < 1:
            raise UsageError("--n must be at least 1")
        return captions[: args.n]
    by_id = {c.id: c for c in [*dataset.test, *dataset.train]}
    wanted = [i.strip() for i in args.ids.split(",") if i.strip()]
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise TextigError(f"unknown caption id(s) in {dataset.name}: {', '.join(missing[:10])}")
    return [by_id[i] for i in wanted]


def check_mode(args: argparse.Namespace) -> bool:
    """True for batch mode; refuses a caption together with --n/--ids/--captions, or none."""
    batch = args.n is not None or args.ids is not None or args.captions is not None
    if batch and args.caption is not None:
        raise UsageError("give either a CAPTION or --n/--ids/--captions (batch mode), not both")
    if not batch and args.caption is None:
        raise UsageError("give a CAPTION to explain, or --captions FILE / --n N / --ids ID,...")
    if batch and args.name is not None:
        raise UsageError("--name names one report; a batch names each report after its caption")
    if args.name is not None:
        from textig.report import check_name

        check_name(args.name)
    if args.caption is not None:
        from textig.caption_text import check_caption

        check_caption(args.caption, "the CAPTION argument")
    return batch


def run_batch(
    items: Sequence[BatchItem],
    work: Callable[[BatchItem, str], IndexEntry],
    out: Path,
    title: str,
    prefix: str = "",
) -> tuple[Path, Path]:
    """Run ``work(item, name)`` per caption with a progress bar; write and return the index.

    A caption that cannot be explained, or whose report cannot be written (an OSError: its
    report is written as a unit, so nothing of it is left half-written), is listed in the index
    with its one-line reason and the others go on; if none can be explained, nothing is
    written and the command fails.
    """
    from tqdm.auto import tqdm

    from textig.report import IndexEntry, report_name, write_index

    entries = []
    for item in tqdm(items, desc="explain", unit="caption", file=sys.stderr):
        name = report_name(item.caption_id, item.text, prefix)
        try:
            if item.error:
                raise TextigError(item.error)
            entries.append(work(item, name))
        except Exception as error:  # one caption's failure must not stop the batch
            truth = tuple(item.known.labels) if item.known else None
            failed = IndexEntry(name, item.text, item.caption_id, (), truth, error=_one_line(error))
            entries.append(replace(failed, line=item.line))
    if all(entry.error for entry in entries):
        reasons = "; ".join(f"{e.caption_id or e.caption[:40]}: {e.error}" for e in entries[:3])
        raise TextigError(f"no caption could be explained ({reasons})")
    return write_index(entries, out, title)


def _one_line(error: Exception) -> str:
    """An error as one line; errors other than textig's own name their type."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if isinstance(error, TextigError) else f"{type(error).__name__}: {text}"


def _explain_one(
    explainer: Explainer, text: str, labels: Any, known: Caption | None, out: Path, name: str
) -> tuple[Path, Path, Any]:
    from textig.report import write_explanation

    check_true_labels(labels, known)
    truth = {
        "true_labels": list(known.labels) if known else None,
        "caption_id": known.id if known else None,
    }
    if isinstance(labels, WhyNot):
        reference = why_not_reference(explainer.settings.baseline)
        explanation = explainer.why_not(text, labels.label, reference=reference, **truth)
    else:
        explanation = explainer.explain(text, labels=labels, **truth)
    html, data = write_explanation(explanation, out, name)
    return html, data, explanation


def check_true_labels(labels: Any, known: Caption | None) -> None:
    """--labels true on a caption whose true labels are unknown: say how to give them."""
    if labels == "true" and known is None:
        raise TextigError(
            "--labels true needs the caption's true labels, which textig finds by looking the "
            "caption up in --data: give the caption exactly as it is written there (or use "
            "--ids / --captions with the dataset's captions), or name labels: --labels a,b"
        )


def why_not_reference(baseline: Any) -> str | None:
    """The caption why-not explains against: --baseline text:CAPTION, else None (the nearest
    training caption that gets the label); other baselines make no sense for why-not."""
    if isinstance(baseline, str) and baseline.startswith("text:"):
        return baseline[5:]
    if baseline != "auto":
        raise TextigError(
            "why-not explains against a caption that gets the label: name one with "
            "--baseline text:CAPTION, or give no --baseline for the nearest training caption"
        )
    return None


def _study(explainer: Explainer, args: argparse.Namespace, labels: Any, dataset: Dataset) -> int:
    from textig.report import report_name, write_baseline_study
    from textig.study import baseline_study

    known = find_caption(dataset, args.caption, [explainer])
    study = baseline_study(
        explainer,
        args.caption,
        baseline_specs(args),
        labels=labels,
        true_labels=list(known.labels) if known else None,
        caption_id=known.id if known else None,
    )
    name = args.name or report_name(known.id if known else None, args.caption, "baselines-")
    for path in write_baseline_study(study, args.out, name):
        print(path)
    return 0


def run(args: argparse.Namespace) -> int:
    """Explain the caption (or the batch) and print the written paths."""
    from textig.report import IndexEntry, report_name, slugify

    batch = check_mode(args)
    labels = parse_labels(args.labels)
    study = len(baseline_specs(args)) > 1
    if study and batch:
        raise UsageError("a baseline study explains one CAPTION: drop --n/--ids/--captions")
    why_not = isinstance(labels, WhyNot)
    if why_not and study:
        raise TextigError("why-not explains against one caption: give at most one --baseline")
    reference = why_not_reference(baseline_specs(args)[0]) if why_not else None
    dataset = load_data(args.data)
    explainer = make_explainer(
        args.embedder,
        args.model,
        dataset,
        args,
        args.word_method,
        need_training=why_not and reference is None,
    )
    if study:
        return _study(explainer, args, labels, dataset)
    if not batch:
        known = find_caption(dataset, args.caption, [explainer])
        name = args.name or report_name(known.id if known else None, args.caption)
        if why_not and not args.name:
            name += "-why-not-" + slugify(labels.label)
        html, data, _ = _explain_one(explainer, args.caption, labels, known, args.out, name)
        print(html)
        print(data)
        return 0

    def work(item: BatchItem, name: str) -> IndexEntry:
        _, _, explanation = _explain_one(explainer, item.text, labels, item.known, args.out, name)
        return IndexEntry.of(name, explanation, line=item.line)

    source = f"captions of {args.captions}" if args.captions else f"{dataset.name} {args.split}"
    title = f"textig explanations: {source} ({explainer.embedder.name})"
    for path in run_batch(batch_items(dataset, args, [explainer]), work, args.out, title):
        print(path)
    return 0
