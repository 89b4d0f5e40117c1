"""The shipped stopword list: NLTK's English list, used whatever NLTK data a machine has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings.stopwords import STOPWORDS_FILE, english_stopwords, read_word_list

NLTK_CORPUS = Path("corpora", "stopwords", "english")


def _nltk_data_folders(shared: Path) -> list[Path]:
    env = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    return [folder for folder in [*env, shared / "nltk_data"] if (folder / NLTK_CORPUS).is_file()]


def test_shipped_list_is_nltks_english_corpus(
    shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = _nltk_data_folders(shared_dir)
    if not folders:
        pytest.skip("no NLTK stopwords corpus here (CI has one in ../shared/nltk_data)")
    import nltk.data
    from nltk.corpus.reader import WordListCorpusReader

    monkeypatch.setattr(nltk.data, "path", [str(folders[0])])
    corpus = nltk.data.find("corpora/stopwords")
    words = WordListCorpusReader(corpus, ["english"]).words("english")
    assert len(words) == len(set(words)) == 179
    assert english_stopwords() == frozenset(words)


def test_shipped_file_states_its_provenance_and_parses() -> None:
    header = STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()[:10]
    assert any("NLTK" in line and line.startswith("#") for line in header)
    words = english_stopwords()
    assert len(words) == 179 and {"the", "of", "and", "mustn't"} <= words
    assert not any(w.startswith("#") or w != w.strip().lower() for w in words)


def test_comments_and_blank_lines_are_not_words(tmp_path: Path) -> None:
    listed = tmp_path / "words.txt"
    listed.write_text("# a comment\n\nthe\n  of \n#x\n", encoding="utf-8")
    assert read_word_list(listed) == frozenset({"the", "of"})


def _features_in_subprocess(env: dict[str, str]) -> tuple[bytes, str]:
    code = (
        "import sys, embeddings\n"
        "e = embeddings.get_embedder('glove')\n"
        "x = e.encode(['the two people in front of a church, and a dog'])\n"
        "sys.stdout.buffer.write(x.tobytes())\n"
        "sys.stderr.write('MODULES ' + ' '.join(m for m in sys.modules if m.startswith('nltk')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=env, check=True, timeout=300
    )
    return out.stdout, out.stderr.decode()


def test_features_do_not_depend_on_nltk_data(tmp_path: Path) -> None:
    """Byte-identical features with NLTK data pointing at a different list, or unset; nltk is
    never imported (its import alone costs a cold start about a second)."""
    decoy = tmp_path / "nltk" / NLTK_CORPUS
    decoy.parent.mkdir(parents=True)
    decoy.write_text("church\ndog\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "NLTK_DATA"}
    env["TEXTIG_CACHE"] = str(tmp_path / "cache")
    without, log_without = _features_in_subprocess(env)
    with_decoy, log_decoy = _features_in_subprocess({**env, "NLTK_DATA": str(decoy.parents[2])})
    assert without == with_decoy
    assert np.frombuffer(without, dtype=np.float32).shape == (50,)
    assert log_without.endswith("MODULES ") and log_decoy.endswith("MODULES ")
