"""`textig serve`: a local explorer over explainers that are loaded once.

A request names a caption, the labels and which of the loaded embedders to use; the answer is
the same HTML report the files hold (``textig.report``), one per embedder side by side, or its
JSON. Requests never reach the file system: embedders and models are fixed when the server
starts, baselines are the named kinds or a caption's text, and inputs obey the CLI's limits.
Starlette is imported here only, so the other commands never pay for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textig.errors import TextigError
from textig.explain import Explainer, shared_labels
from textig.explanation import Explanation
from textig.limits import MAX_CAPTION_CHARS

MAX_LABEL_CHARS = 1000  # the --labels text of one request
MAX_LABELS = 20  # labels (or top N) one request may explain
BASELINES = ("auto", "mean", "neutral")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
SECURITY_HEADERS = {
    # reports carry inline styles only: no script, no fetch, no external anything
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Query:
    """One validated request: what to explain, with which of the loaded embedders."""

    caption: str
    labels: str | list[str]
    why_not: str | None
    embedders: list[str]
    baseline: str


def parse_query(params: Mapping[str, Any], loaded: Sequence[str]) -> Query:
    """A request's parameters, checked against the CLI's limits and the loaded embedders."""
    from textig.cli.explain import WhyNot, parse_labels

    caption = str(params.get("caption", ""))
    if len(caption) > MAX_CAPTION_CHARS:
        raise TextigError(
            f"the caption has {len(caption)} characters; textig explains at most "
            f"{MAX_CAPTION_CHARS}"
        )
    spec = str(params.get("labels") or "top5").strip()
    if len(spec) > MAX_LABEL_CHARS:
        raise TextigError(f"the labels field is longer than {MAX_LABEL_CHARS} characters")
    labels = parse_labels(spec)
    if labels == "true":
        raise TextigError("the explorer does not know a typed caption's true labels: name them")
    if isinstance(labels, WhyNot):
        count = 1
    else:
        count = int(labels[3:]) if isinstance(labels, str) else len(labels)
    if not 1 <= count <= MAX_LABELS:
        raise TextigError(f"explain between 1 and {MAX_LABELS} labels per request")
    embedders = [str(name) for name in params.get("embedders") or loaded[:1]]
    unknown = [name for name in embedders if name not in loaded]
    if unknown or not embedders:
        raise TextigError(f"choose embedders among the loaded ones: {', '.join(loaded)}")
    baseline = str(params.get("baseline") or "auto")
    if baseline not in BASELINES and not baseline.startswith("text:"):
        raise TextigError(f"baseline must be one of {', '.join(BASELINES)} or text:CAPTION")
    if len(baseline) > MAX_CAPTION_CHARS + 5:
        raise TextigError(f"a text: baseline is at most {MAX_CAPTION_CHARS} characters")
    return Query(
        caption=caption,
        labels=labels if not isinstance(labels, WhyNot) else [labels.label],
        why_not=labels.label if isinstance(labels, WhyNot) else None,
        embedders=list(dict.fromkeys(embedders)),
        baseline=baseline,
    )


class Explorer:
    """The loaded explainers and how one query runs on them (one at a time: explainers keep
    lazily filled caches and torch models that are not meant for concurrent use)."""

    def __init__(self, explainers: Mapping[str, Explainer]) -> None:
        if not explainers:
            raise TextigError("the explorer needs at least one embedder")
        self.explainers = dict(explainers)
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The loaded embedders, in the order given."""
        return list(self.explainers)

    def vocabulary(self) -> list[str]:
        """Labels every loaded model knows (for the form's suggestions)."""
        sets = [set(e.vocabulary) for e in self.explainers.values()]
        first = next(iter(self.explainers.values())).vocabulary
        return [label for label in first if all(label in s for s in sets)]

    def warm_up(self, text: str = "a dog runs on the grass") -> None:
        """Load everything loaded lazily (vectors, tokenisers) before the first request."""
        for explainer in self.explainers.values():
            explainer.explain(text, labels="top1")

    def explain(self, query: Query) -> list[tuple[str, Explanation, float]]:
        """(embedder, explanation, seconds) per chosen embedder, all for the same labels."""
        with self._lock:
            chosen = [self.explainers[name] for name in query.embedders]
            if query.baseline != "auto":
                chosen = [e.with_baseline(query.baseline) for e in chosen]
            out = []
            if query.why_not is not None:
                reference = query.baseline[5:] if query.baseline.startswith("text:") else None
                if query.baseline != "auto" and reference is None:
                    raise TextigError("why-not takes no baseline but auto or text:CAPTION")
                for name, explainer in zip(query.embedders, chosen, strict=True):
                    started = time.perf_counter()
                    e = explainer.why_not(query.caption, query.why_not, reference=reference)
                    out.append((name, e, time.perf_counter() - started))
                return out
            labels = shared_labels(chosen, query.caption, query.labels)
            for name, explainer in zip(query.embedders, chosen, strict=True):
                started = time.perf_counter()
                e = explainer.explain(query.caption, labels=labels)
                out.append((name, e, time.perf_counter() - started))
            return out


def create_app(explorer: Explorer, *, allowed_hosts: Sequence[str] = LOCAL_HOSTS) -> Any:
    """The Starlette app: ``/`` (form and reports), ``/api/explain`` (JSON)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    from textig import __version__
    from textig.report import render_explanation
    from textig.report.templates import environment

    def params(request: Request) -> dict[str, Any]:
        query = request.query_params
        return {**query, "embedders": query.getlist("embedder")}

    def run(request: Request) -> tuple[Query | None, list | None, str | None]:
        raw = params(request)
        if not raw.get("caption"):
            return None, None, None
        try:
            query = parse_query(raw, explorer.names)
            return query, explorer.explain(query), None
        except TextigError as error:
            return None, None, str(error)

    def secured(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    def page(request: Request) -> Response:
        query, results, error = run(request)
        raw = params(request)
        reports = [
            {"name": name, "html": render_explanation(e), "seconds": seconds}
            for name, e, seconds in results or []
        ]
        body = (
            environment()
            .get_template("serve.html.j2")
            .render(
                version=__version__,
                names=explorer.names,
                vocabulary=explorer.vocabulary(),
                caption=str(raw.get("caption", ""))[: MAX_CAPTION_CHARS + 1],
                labels=str(raw.get("labels") or "top5")[:MAX_LABEL_CHARS],
                chosen=query.embedders if query else (raw["embedders"] or explorer.names[:1]),
                baseline=str(raw.get("baseline") or "auto")[: MAX_CAPTION_CHARS + 5],
                reports=reports,
                error=error,
                max_chars=MAX_CAPTION_CHARS,
            )
        )
        return secured(HTMLResponse(body, status_code=400 if error else 200))

    def api(request: Request) -> Response:
        query, results, error = run(request)
        if error or query is None:
            message = error or "give a caption"
            return secured(JSONResponse({"error": message}, status_code=400))
        data = {
            name: {"seconds": round(seconds, 6), "explanation": e.to_dict()}
            for name, e, seconds in results or []
        }
        return secured(JSONResponse({"caption": query.caption, "embedders": data}))

    return Starlette(
        routes=[Route("/", page), Route("/api/explain", api)],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))],
    )
