"""Reading npz archives without trusting them: sizes first, then exactly the bytes announced.

``np.load`` inflates whatever a member's header asks for (a 3.8 MB archive can hold a 2 GiB
member of zeros) and then trusts the array it gets. Here the archive's central directory is
read first: every member's uncompressed size is known before a byte is inflated, and their sum
must fit a budget. Each member is then read against the shape and dtype kinds its caller
expects: its ``.npy`` header must announce exactly that, the member must hold exactly the
header plus that many bytes, and only those bytes are inflated (zipfile checks their CRC).
Object arrays are never read, so no pickle is ever involved.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from textig.errors import TextigError
from textig.limits import NPZ_EXPANSION, NPZ_EXPANSION_FLOOR

NPY_HEADER_LIMIT = 1 << 16  # bytes of one member's .npy header (numpy writes ~128)
_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,  # an encrypted member; a RecursionError
    SyntaxError,
    NotImplementedError,  # an unsupported compression method
)


def expansion_budget(path: Path) -> int:
    """How many bytes the members of the npz file at ``path`` may unpack to, given its size."""
    return max(NPZ_EXPANSION * path.stat().st_size, NPZ_EXPANSION_FLOOR)


class NpzReader:
    """The members of one npz archive, read one at a time against an expected shape.

    ``what`` starts every error message (e.g. "m.npz is a corrupt textig AnnexML model");
    ``budget`` caps the sum of the members' uncompressed sizes (bytes).
    """

    def __init__(self, path: Path, what: str, budget: int) -> None:
        self.path, self.what = path, what
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except _ERRORS as error:
            raise TextigError(f"{what} (not a readable npz archive: {error})") from None
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename.removesuffix(".npy")
            if name == info.filename or name in self._members:
                self.close()
                raise TextigError(f"{what} (unexpected or repeated member {info.filename!r})")
            self._members[name] = info
        declared = sum(info.file_size for info in infos)
        if declared > budget:
            self.close()
            raise TextigError(
                f"{what} (its members would unpack to {declared / 1e6:.0f} MB, more than the "
                f"{budget / 1e6:.0f} MB a file of its size may hold)"
            )

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the archive."""
        self._zip.close()

    @property
    def names(self) -> set[str]:
        """Member names without ``.npy``."""
        return set(self._members)

    def size(self, name: str) -> int:
        """Declared uncompressed size of a member (bytes), read from the central directory."""
        return self._members[name].file_size

    def fail(self, reason: str) -> TextigError:
        """A TextigError about this archive (for the caller's own checks)."""
        return TextigError(f"{self.what} ({reason})")

    def read(
        self, name: str, kinds: str, shape: tuple[int | None, ...], limit: int | None = None
    ) -> np.ndarray:
        """Member ``name`` as a native-order C array.

        Its dtype kind must be one of ``kinds`` (numpy kind letters: "i", "u", "f", "U"), its
        shape ``shape``, where None leaves a dimension free; ``limit`` caps its element count.
        """
        if name not in self._members:
            raise self.fail(f"member {name!r} is missing")
        info = self._members[name]
        try:
            with self._zip.open(info) as handle:
                dtype, fortran, offset, shape = self._npy_header(handle, name, kinds, shape)
                count = math.prod(shape)
                if limit is not None and count > limit:
                    raise self.fail(f"member {name!r} has {count} elements, at most {limit}")
                nbytes = count * dtype.itemsize
                if info.file_size != offset + nbytes:
                    raise self.fail(
                        f"member {name!r} holds {info.file_size - offset} bytes of data, "
                        f"its header announces {nbytes}"
                    )
                array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
                _read_exactly(handle, memoryview(array.reshape(-1, order="A")).cast("B"))
        except TextigError:
            raise
        except _ERRORS as error:
            raise self.fail(f"member {name!r} is unreadable: {error}") from None
        return array.astype(dtype.newbyteorder("="), order="C", copy=False)

    def _npy_header(
        self, handle, name: str, kinds: str, shape: tuple[int | None, ...]
    ) -> tuple[np.dtype, bool, int, tuple[int, ...]]:
        """dtype, Fortran order, data offset and shape of a member, checked against what is
        expected."""
        fmt = np.lib.format
        major, _ = fmt.read_magic(handle)
        read_header = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
        got_shape, fortran, dtype = read_header(handle, max_header_size=NPY_HEADER_LIMIT)
        numeric_too_wide = dtype.kind in "iuf" and dtype.itemsize > 8
        if dtype.hasobject or dtype.kind not in kinds or dtype.fields or numeric_too_wide:
            raise self.fail(f"member {name!r} has dtype {dtype}, expected kind {kinds!r}")
        got_shape = tuple(got_shape)
        fits = len(got_shape) == len(shape) and all(
            want is None or got == want for got, want in zip(got_shape, shape, strict=True)
        )
        if not fits:
            wanted = tuple("any" if want is None else want for want in shape)
            raise self.fail(f"member {name!r} has shape {got_shape}, expected {wanted}")
        return np.dtype(dtype), bool(fortran), handle.tell(), got_shape


def _read_exactly(handle, buffer: memoryview) -> None:
    """Fill ``buffer`` from ``handle``; a short member is an error (never zeros)."""
    filled = 0
    while filled < len(buffer):
        got = handle.readinto(buffer[filled:])
        if not got:
            raise EOFError(f"member ends after {filled} of {len(buffer)} data bytes")
        filled += got
