"""Import rules that keep the layers apart, read from the source (so they can fail).

Only the AnnexML adapter (``textig/models/annexml.py``) may reach into AnnexML's internals;
everything else sees a model through ``textig.models`` and uses only the package's public
names and its file formats and metrics.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ANNEXML_PUBLIC = {
    "textig.annexml",
    "textig.annexml.formats",
    "textig.annexml.feature_files",
    "textig.annexml.metrics",
}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (relative imports resolved)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def annexml_internals(path: Path) -> set[str]:
    return {
        name
        for name in imported_modules(path)
        if name.startswith("textig.annexml.") and _module_of(name) not in ANNEXML_PUBLIC
    }


def _module_of(name: str) -> str:
    """'textig.annexml.fast_path.X' -> 'textig.annexml.fast_path'; package names unchanged."""
    parts = name.split(".")
    for end in range(len(parts), 1, -1):
        candidate = REPO.joinpath(*parts[:end])
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts[:end])
    return name


def test_only_the_adapter_reaches_into_annexml() -> None:
    allowed = {REPO / "textig" / "models" / "annexml.py"}
    offenders = {
        str(path.relative_to(REPO)): sorted(annexml_internals(path))
        for path in (REPO / "textig").rglob("*.py")
        if "annexml" not in path.relative_to(REPO / "textig").parts[:1] and path not in allowed
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_rule_sees_an_internal_import() -> None:
    sample = REPO / "textig" / "models" / "annexml.py"
    assert "textig.annexml.fast_path" in {_module_of(n) for n in annexml_internals(sample)}


def test_model_and_storage_do_not_import_each_other() -> None:
    annexml = REPO / "textig" / "annexml"
    storage = {_module_of(n) for n in imported_modules(annexml / "storage.py")}
    assert "textig.annexml.model" not in storage
