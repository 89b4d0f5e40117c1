"""Every cap textig puts on what it reads, in one place.

Every file textig reads is untrusted: sizes, ids and counts come from the file, and an
unchecked one can ask for terabytes or reach native indexing out of bounds. Each reader checks
its input against these caps *before* allocating or decompressing anything, and refuses with a
one-line ``TextigError``. They are far above what the IAPR TC-12 corpus and the bundled
embedders need (291 labels, 50-d GloVe, 384-d SBERT, 20,000 captions); the
README's "Reliability" section lists them.
"""

from __future__ import annotations

MAX_CAPTION_CHARS = 5_000
"""Longest caption explained or read from a dataset (characters)."""

MAX_LINE_CHARS = 1_000_000
"""Longest line of a JSONL, svmlight or prediction file (characters)."""

MAX_JSON_DEPTH = 8
"""Deepest nesting of brackets in a JSONL record (a record needs 2)."""

MAX_FEATURES = 100_000
"""Largest feature dimension: svmlight feature ids and a model's ``dim``."""

MAX_LABELS = 1_000_000
"""Largest label vocabulary: label ids are below it (svmlight, predictions, models)."""

MAX_ROWS = 50_000_000
"""Most training rows a model file may claim."""

MAX_EMB_SIZE = 4_096
"""Largest AnnexML embedding size."""

MAX_LEARNERS = 1_024
"""Most AnnexML learners in a model."""

MAX_NUM_NN = 10_000
"""Most neighbours per learner (``num_nn``)."""

MAX_DENSE_BYTES = 4 << 30
"""Largest dense feature matrix built from an svmlight file (bytes: rows x dim x 4)."""

MAX_MODEL_HEADER_BYTES = 64 << 20
"""Largest JSON header of a textig model file (it holds the label names)."""

NPZ_EXPANSION = 4
"""An npz file's members (a model, features) may unpack to at most this many times the file's
size..."""

NPZ_EXPANSION_FLOOR = 64 << 20
"""...or this many bytes, whichever is larger (textig's models and caches are stored
uncompressed, ratio 1; ``textig embed`` compresses its features: ratio 1.26 on the demo corpus)."""
