"""Import rules that keep the layers apart, read from the source (so they can fail).

- ``embeddings`` imports nothing of ``textig`` (textig builds on embeddings, never the reverse;
  the error type and file helpers they share live in ``embeddings``).
- Only the AnnexML adapter (``textig/models/annexml.py``) and ``textig/annexml`` itself reach
  into AnnexML's internals; the rest of ``textig`` sees a model through ``textig.models`` and
  uses only the package's public names, file formats and metrics. (``bench/`` scripts measure
  internals on purpose and are not held to this rule.)
- Inside ``textig/annexml``, the file format (``storage``) knows nothing of the estimator
  (``model``), not even through another module: the estimator uses the format, one way.

Imports are found at any depth (inside functions too), relative imports resolved, and so are
``importlib.import_module("...")`` calls with a literal name.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ANNEXML_PUBLIC = {
    "textig.annexml",
    "textig.annexml.formats",
    "textig.annexml.feature_files",
    "textig.annexml.metrics",
}
ADAPTER = REPO / "textig" / "models" / "annexml.py"


def _package_of(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])


def imported_names(source: str, package: str) -> set[str]:
    """Every module (and ``module.name``) the source imports, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in {"import_module", "__import__"}


def imported_modules(path: Path) -> set[str]:
    return imported_names(path.read_text(encoding="utf-8"), _package_of(path))


def _module_of(name: str) -> str:
    """'textig.annexml.fast_path.X' -> 'textig.annexml.fast_path'; package names unchanged."""
    parts = name.split(".")
    for end in range(len(parts), 1, -1):
        candidate = REPO.joinpath(*parts[:end])
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts[:end])
    return name


def _textig_names(names: set[str]) -> list[str]:
    return sorted(n for n in names if n.split(".")[0] == "textig")


def annexml_internals(names: set[str]) -> set[str]:
    return {
        name
        for name in names
        if name.startswith("textig.annexml.") and _module_of(name) not in ANNEXML_PUBLIC
    }


def _file_of(module: str) -> Path | None:
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def reachable(module: str) -> set[str]:
    """The textig modules ``module`` imports, directly or through others (its closure)."""
    seen, todo = set(), [module]
    while todo:
        path = _file_of(todo.pop())
        if path is None:
            continue
        for name in imported_modules(path):
            target = _module_of(name)
            if target.startswith("textig") and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_embeddings_imports_no_textig() -> None:
    files = sorted((REPO / "embeddings").rglob("*.py"))
    assert len(files) > 5
    offenders = {str(p.relative_to(REPO)): _textig_names(imported_modules(p)) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_every_embeddings_module_loads_no_textig() -> None:
    """The same rule at run time (entry points, lazy attributes and plug-in loading included)."""
    code = (
        "import importlib, pkgutil, sys, embeddings\n"
        "for m in pkgutil.iter_modules(embeddings.__path__):\n"
        "    importlib.import_module('embeddings.' + m.name)\n"
        "embeddings.GloveEmbedder, embeddings.SbertEmbedder, embeddings.available_embedders()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textig'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_rules_see_a_violation() -> None:
    source = (
        "import importlib\n"
        "def late():\n"
        "    from textig.errors import TextigError\n"
        "    from ..annexml import fast_path\n"
        "    return importlib.import_module('textig.annexml.search')\n"
    )
    names = imported_names(source, "textig.models")
    assert _textig_names(names) == [
        "textig.annexml",
        "textig.annexml.fast_path",
        "textig.annexml.search",
        "textig.errors",
        "textig.errors.TextigError",
    ]
    internals = {_module_of(n) for n in annexml_internals(names)}
    assert internals == {"textig.annexml.fast_path", "textig.annexml.search"}
    assert "textig.annexml.fast_path" in {
        _module_of(n) for n in annexml_internals(imported_modules(ADAPTER))
    }


def test_only_the_adapter_reaches_into_annexml() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(annexml_internals(imported_modules(path)))
        for path in (REPO / "textig").rglob("*.py")
        if "annexml" not in path.relative_to(REPO / "textig").parts[:1] and path != ADAPTER
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_storage_knows_nothing_of_the_estimator() -> None:
    assert "textig.annexml.storage" in reachable("textig.annexml.model")  # the one way
    assert "textig.annexml.model" not in reachable("textig.annexml.storage")


def test_shared_helpers_are_defined_once() -> None:
    """Quadrature nodes (Gauss and Kronrod), target resolution and the label-ranking rule have
    one definition each, and only the quadrature module asks numpy for Gauss-Legendre nodes."""
    defined: dict[str, list[str]] = {}
    asks_leggauss = []
    for folder in ("textig", "embeddings", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            where = str(path.relative_to(REPO))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef):
                    defined.setdefault(node.name, []).append(where)
                elif isinstance(node, ast.Attribute) and node.attr == "leggauss":
                    asks_leggauss.append(where)
    assert defined["gauss_legendre"] == ["embeddings/quadrature.py"]
    assert defined["gauss_kronrod"] == ["embeddings/quadrature.py"]
    assert defined["resolve_targets"] == ["textig/attribution/_utils.py"]
    assert defined["rank_labels"] == ["textig/ranking.py"]
    assert set(asks_leggauss) == {"embeddings/quadrature.py"}
