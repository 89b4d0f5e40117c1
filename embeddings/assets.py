"""Pinned asset files: hash each installed file once, refuse any that does not match its pin.

Hashing the 90 MB SBERT weights takes about a second, so the verified hash of every file is
recorded under ``$TEXTIG_CACHE`` keyed by (path, size, mtime): later loads trust the record
and only re-hash a file that has changed on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from embeddings.errors import TextigError
from embeddings.files import atomic_write_text, sha256_file

GLOVE_6B_50D_SHA256 = "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15"
MINILM_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

_RECORD_NAME = "asset_hashes.json"


def cache_dir() -> Path:
    """textig's cache root: ``$TEXTIG_CACHE``, else ``~/.cache/textig``."""
    return Path(os.environ.get("TEXTIG_CACHE") or Path.home() / ".cache" / "textig")


def _record_path() -> Path:
    return cache_dir() / _RECORD_NAME


def _read_record() -> dict[str, dict]:
    try:
        return json.loads(_record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of ``path``, computed once per (path, size, mtime) and remembered on disk."""
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError as error:
        raise TextigError(f"cannot read asset file {resolved}: {error.strerror}") from error
    key = str(resolved)
    record = _read_record()
    entry = record.get(key)
    if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return str(entry["sha256"])
    digest = sha256_file(resolved)
    record[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    with contextlib.suppress(OSError):  # a read-only cache only costs a re-hash next time
        atomic_write_text(_record_path(), json.dumps(record, indent=1, sort_keys=True))
    return digest


def check_pinned(path: str | os.PathLike[str], expected: str) -> str:
    """Return the file's sha256 if it equals the pin; otherwise refuse it with a clear error."""
    digest = file_sha256(path)
    if digest != expected:
        raise TextigError(
            f"{path} has sha256 {digest}, expected {expected}: the file is corrupted or not the "
            "pinned release; reinstall the package that ships it"
        )
    return digest
