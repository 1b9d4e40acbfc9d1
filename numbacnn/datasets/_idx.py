"""Reader for the IDX format of MNIST and Fashion-MNIST."""

import gzip
import os
import zlib

import numpy as np

__all__ = ["load_idx", "IDX_DTYPES"]

#: IDX type code (third byte of the magic number) -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:  # decide by content, not by the file name
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: not a valid gzip file ({exc})") from None
    return raw


def load_idx(path):
    """Read one IDX file (plain or gzip-compressed) into a NumPy array.

    The IDX format (used by MNIST) is a 4-byte magic number
    ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian 32-bit sizes, then
    the data in C order, big-endian.  The type byte is one of ``0x08``
    (uint8), ``0x09`` (int8), ``0x0B`` (int16), ``0x0C`` (int32), ``0x0D``
    (float32) or ``0x0E`` (float64).

    Parameters
    ----------
    path : str or os.PathLike
        The file; compression is detected from its first bytes, so both
        ``train-images-idx3-ubyte`` and ``train-images-idx3-ubyte.gz`` work
        whatever they are called.

    Returns
    -------
    ndarray
        Shape given by the header, dtype from the type byte in native byte
        order (``uint8`` for MNIST images and labels).

    Raises
    ------
    ValueError
        If the file is not IDX: bad magic number, unknown type byte, a data
        length that does not match the header, or corrupt compression.  The
        message names the file.
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> from importlib.resources import files
    >>> from numbacnn.datasets import load_idx
    >>> labels = load_idx(files("numbacnn.datasets") / "data" / "t10k-labels-idx1-ubyte.gz")
    >>> labels.shape, labels.dtype, labels[:5].tolist()
    ((10000,), dtype('uint8'), [7, 2, 1, 0, 4])
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: too short for an IDX file ({len(raw)} bytes)")
    zero0, zero1, code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or code not in IDX_DTYPES:
        raise ValueError(
            f"{path}: not an IDX file (magic number {raw[:4].hex()}; expected "
            f"0000 followed by a type byte in "
            f"{{{', '.join(f'{c:02x}' for c in IDX_DTYPES)}}} and the number of dims)"
        )
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header (needs {header} bytes, has {len(raw)})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header declares shape {shape} of {dtype.newbyteorder('=')} "
            f"({expected} data bytes) but the file holds {len(raw) - header}"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # native order, and a writable copy
