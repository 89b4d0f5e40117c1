"""Files in the reference C++ AnnexML's model layout, written for tests (see
``textig.annexml.reference_file`` for the layout)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

FILE_NAMES = (b"train.svm", b"", b"model.bin", b"out.txt")
HEADER_BYTES = 64 + sum(4 + len(name) for name in FILE_NAMES)


@dataclass
class Stored:
    """A reference model file's content, as plain values a test can spoil before writing."""

    params: list  # emb_size, num_learner, num_nn, cls_type, cls_iter, emb_iter, label_normalize,
    # eta0, lambda, gamma, pred_type, num_edge (search_eps, threads, seed, verbose are fixed)
    labels: list = field(default_factory=list)  # per training row, label ids
    partitions: list = field(default_factory=list)  # per learner: (K, columns: [[(k, w)]])
    matrices: list = field(default_factory=list)  # per learner, per cluster: [(fid, row)]
    embeddings: list = field(default_factory=list)  # per learner: (n_train, emb)
    members: list = field(default_factory=list)  # per learner, per cluster: ids
    extra: bytes = b""


def u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def encode(s: Stored) -> bytes:
    """The bytes ``annexml train`` would write for this content."""
    out = [struct.pack("<iiiiiiifffii", *s.params), struct.pack("<fiii", 0.0, 2, 0, 1)]
    out += [struct.pack("<i", len(name)) + name for name in FILE_NAMES]
    out.append(u64(len(s.labels)))
    out += [u64(len(row)) + struct.pack(f"<{len(row)}i", *row) for row in s.labels]
    out.append(u64(len(s.partitions)))
    for li, (K, columns) in enumerate(s.partitions):
        out += [u64(K), u64(len(columns))]
        for entries in columns:
            out.append(u64(len(entries)) + b"".join(struct.pack("<if", k, w) for k, w in entries))
        out += [u64(s.params[0]), struct.pack("<ii", 7, 0), u64(len(s.matrices[li]))]
        for rows in s.matrices[li]:
            out.append(u64(len(rows)))
            out += [
                struct.pack("<i", f) + u64(len(r)) + np.asarray(r, "<f4").tobytes() for f, r in rows
            ]
        E = np.asarray(s.embeddings[li], "<f4")
        out.append(u64(len(E)) + b"".join(u64(E.shape[1]) + row.tobytes() for row in E))
        out.append(u64(len(s.members[li])))
        out += [u64(len(ids)) + np.asarray(ids, "<u8").tobytes() for ids in s.members[li]]
    return b"".join(out) + s.extra


def from_model(model) -> Stored:
    """A fitted textig AnnexML as the reference would store it (1-based feature ids)."""
    p = model.get_params()
    keys = ("emb_size", "num_learner", "num_nn", "cls_type", "cls_iter", "emb_iter")
    params = [p[k] for k in keys] + [p["label_normalize"], p["eta0"], p["lam"], p["gamma"], 1, 50]
    Y = model.Y_.tocsr()
    s = Stored(
        params,
        labels=[Y.indices[Y.indptr[i] : Y.indptr[i + 1]].tolist() for i in range(Y.shape[0])],
    )
    for learner in model.learners_:
        C = learner.centers
        columns = [[]] + [
            [(k, float(C[k, j])) for k in range(len(C)) if C[k, j]] for j in range(C.shape[1])
        ]
        s.partitions.append((len(C), columns))
        E = np.zeros((Y.shape[0], model.emb_size), np.float32)
        for c in learner.clusters:
            E[c.ids] = c.E
        s.embeddings.append(E)
        zero = np.zeros(model.emb_size)
        s.matrices.append(
            [[(0, zero)] + [(f + 1, w) for f, w in enumerate(c.W)] for c in learner.clusters]
        )
        s.members.append([c.ids.tolist() for c in learner.clusters])
    return s
