"""Image data sets as ``(N, C, H, W)`` arrays with integer labels."""

import os
import pickle
from importlib.resources import files

import numpy as np

from numbacnn._validation import check_choice
from numbacnn.datasets._idx import load_idx

__all__ = [
    "load_digits_images",
    "load_mnist",
    "load_fashion_mnist",
    "load_cifar10",
    "FASHION_MNIST_PATH",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
]

#: Where the Debian package ``dataset-fashion-mnist`` installs its idx files.
FASHION_MNIST_PATH = "/usr/share/datasets/fashion-mnist"

#: Names of the ten Fashion-MNIST classes, indexed by label.
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

#: Names of the ten CIFAR-10 classes, indexed by label.
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

_SPLITS = ("train", "test", "all")
_IDX_PREFIX = {"train": "train", "test": "t10k"}


def load_digits_images(return_X_y=True):
    """scikit-learn's 8x8 handwritten digits as images ``(N, 1, 8, 8)``.

    The 1797 images of :func:`sklearn.datasets.load_digits` (shipped with
    scikit-learn, so this works offline) with a channel axis added.  Pixels are
    the **raw** counts 0..16 as float64, not rescaled: the lecture's Keras
    digits CNN trains on them as they are, and so do its reproductions here.
    Divide by 16 for inputs in [0, 1].

    Parameters
    ----------
    return_X_y : bool, default True
        Return ``(X, y)``; if False, a :class:`sklearn.utils.Bunch` with
        ``data`` (the images), ``target``, ``target_names`` and ``DESCR``.

    Returns
    -------
    X : ndarray of float64, shape (1797, 1, 8, 8)
        Pixel values 0..16.
    y : ndarray of int64, shape (1797,)
        Digit labels 0..9.

    Examples
    --------
    >>> from numbacnn.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> X.shape, X.dtype, float(X.max()), y[:5].tolist()
    ((1797, 1, 8, 8), dtype('float64'), 16.0, [0, 1, 2, 3, 4])
    """
    from sklearn.datasets import load_digits
    from sklearn.utils import Bunch

    digits = load_digits()
    X = np.ascontiguousarray(digits.images[:, None, :, :], dtype=np.float64)
    y = digits.target.astype(np.int64)
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, target_names=np.arange(10), DESCR=digits.DESCR)


def _find(folder, stem):
    """The first of ``stem`` with the usual spellings and compression that exists."""
    candidates = []
    for name in (stem, stem.replace("-idx", ".idx")):
        candidates += [name, name + ".gz"]
    for name in candidates:
        full = os.path.join(folder, name)
        if os.path.isfile(full):
            return full
    raise FileNotFoundError(
        f"no {stem}[.gz] in {folder} (looked for {', '.join(candidates)})"
    )


def _read_idx_split(folder, split):
    prefix = _IDX_PREFIX[split]
    img_path = _find(folder, f"{prefix}-images-idx3-ubyte")
    lab_path = _find(folder, f"{prefix}-labels-idx1-ubyte")
    images = load_idx(img_path)
    labels = load_idx(lab_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{img_path}: expected uint8 images of shape (N, H, W); got {images.dtype} "
            f"{images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(
            f"{lab_path}: expected uint8 labels of shape (N,); got {labels.dtype} {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{img_path} holds {images.shape[0]} images but {lab_path} holds "
            f"{labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{lab_path}: labels must be 0..9; found {labels.max()}")
    return images, labels


def _images_to_float(images, labels):
    X = images[:, None, :, :].astype(np.float32)
    X /= np.float32(255)
    return X, labels.astype(np.int64)


def _load_idx_folder(folder, split):
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"path must be a folder holding idx files; got {folder!r}")
    if split == "all":
        parts = [_read_idx_split(folder, s) for s in ("train", "test")]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
    else:
        images, labels = _read_idx_split(folder, split)
    return _images_to_float(images, labels)


def load_mnist(path=None, source="bundled", split="test"):
    """MNIST handwritten digits as ``(N, 1, 28, 28)`` float32 images in [0, 1].

    Three sources:

    * default (``path=None, source="bundled"``): the real MNIST **test set**
      of 10,000 images shipped inside numbacnn (CC BY-SA 3.0, Yann LeCun,
      Corinna Cortes and Christopher J.C. Burges; see
      ``numbacnn/datasets/data/MNIST-LICENSE.txt``).  Works offline.  The
      lecture's own CNN is trained on 10,000 MNIST images, split 75/25.
    * ``path``: a folder holding MNIST-format idx files
      (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
      ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``; each may be
      gzipped, and ``.idx3`` spellings with a dot are found too).
    * ``source="openml"``: the full 70,000 images via
      :func:`sklearn.datasets.fetch_openml` (``mnist_784``), which downloads
      once and caches under ``~/scikit_learn_data``.  The first 60,000 are the
      training set and the last 10,000 the test set.

    Pixels are the stored bytes 0..255 divided by 255 (no centring or
    standardisation).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder with idx files; cannot be combined with ``source="openml"``.
    source : {"bundled", "openml"}, default "bundled"
        Where to get the data when ``path`` is None.
    split : {"test", "train", "all"}, default "test"
        Which part: the 10k test set, the 60k training set, or both (training
        first).  The bundled copy has only ``"test"``.

    Returns
    -------
    X : ndarray of float32, shape (N, 1, 28, 28)
        Pixel intensities in [0, 1].
    y : ndarray of int64, shape (N,)
        Digit labels 0..9.

    Raises
    ------
    ConnectionError
        If ``source="openml"`` and the download fails (e.g. offline).
    FileNotFoundError
        If ``path`` is not a folder or lacks the idx files of ``split``.
    ValueError
        For an unknown ``source``/``split`` or a corrupt idx file.

    Examples
    --------
    >>> from numbacnn.datasets import load_mnist
    >>> X, y = load_mnist()
    >>> X.shape, X.dtype, float(X.max()), y[:5].tolist()
    ((10000, 1, 28, 28), dtype('float32'), 1.0, [7, 2, 1, 0, 4])
    """
    check_choice(source, "source", ("bundled", "openml"))
    check_choice(split, "split", _SPLITS)
    if path is not None:
        if source != "bundled":
            raise ValueError("pass either path or source='openml', not both")
        return _load_idx_folder(os.fspath(path), split)
    if source == "openml":
        return _fetch_openml_mnist(split)
    if split != "test":
        raise ValueError(
            f"the bundled MNIST copy holds the 10k test set only, so split must be "
            f"'test'; got split={split!r} (use path=... or source='openml' for more)"
        )
    return _load_idx_folder(str(files("numbacnn.datasets") / "data"), "test")


def _fetch_openml_mnist(split):
    from sklearn.datasets import fetch_openml

    try:
        X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)
    except Exception as exc:  # network errors come in many types (URLError, HTTPError, ...)
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ConnectionError(
            f"could not fetch MNIST from OpenML ({reason}); without a network use "
            f"load_mnist() for the bundled 10k test set or load_mnist(path=...) for local "
            f"idx files"
        ) from exc
    X = np.asarray(X, dtype=np.float32).reshape(-1, 1, 28, 28) / np.float32(255)
    y = np.asarray(y).astype(np.int64)
    if split == "train":
        return X[:60000], y[:60000]
    if split == "test":
        return X[60000:], y[60000:]
    return X, y


def load_fashion_mnist(path=None, split="test"):
    """Fashion-MNIST (Zalando) as ``(N, 1, 28, 28)`` float32 images in [0, 1].

    Reads the four idx files of Fashion-MNIST (60,000 training and 10,000
    test images of clothing in ten classes, :data:`FASHION_MNIST_CLASSES`;
    MIT licence, Zalando SE).  By default from where the Debian package
    ``dataset-fashion-mnist`` installs them, :data:`FASHION_MNIST_PATH`
    (``apt-get install dataset-fashion-mnist``).  The files have the same
    names and layout as MNIST's; pixels are divided by 255.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder with ``train-images-idx3-ubyte[.gz]`` etc.  Default
        :data:`FASHION_MNIST_PATH`.
    split : {"test", "train", "all"}, default "test"
        The 10k test set, the 60k training set, or both (training first).
        The default matches :func:`load_mnist`.

    Returns
    -------
    X : ndarray of float32, shape (N, 1, 28, 28)
    y : ndarray of int64, shape (N,)
        Class labels 0..9.

    Raises
    ------
    FileNotFoundError
        If the files are not there; for the default path the message names
        the Debian package to install.

    Examples
    --------
    >>> from numbacnn.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(split="train")  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((60000, 1, 28, 28), (60000,))
    """
    check_choice(split, "split", _SPLITS)
    folder = FASHION_MNIST_PATH if path is None else os.fspath(path)
    try:
        return _load_idx_folder(folder, split)
    except FileNotFoundError as exc:
        if path is None:
            raise FileNotFoundError(_fashion_mnist_missing(folder, "pass path= to")) from None
        raise exc


def _fashion_mnist_missing(folder, how):
    """What to do when Fashion-MNIST is not in ``folder``; ``how`` names the way to
    give a folder where the message is read (``path=`` here, ``--data-path`` in the CLI)."""
    return (
        f"Fashion-MNIST not found in {folder}: install the Debian package "
        f"dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or {how} "
        f"a folder with its idx files"
    )


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes and NumPy arrays, and refuses everything else.

    A pickle can run arbitrary code when loaded; CIFAR-10's batch files need
    only these types, so nothing else is allowed to be constructed.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how protocol-2 pickles spell bytes
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core"):]
        return super().find_class(module, name)


def _read_cifar_batch(path):
    try:
        with open(path, "rb") as f:
            batch = _ArrayOnlyUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as exc:
        raise ValueError(f"{path}: not a CIFAR-10 python batch file ({exc})") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: not a CIFAR-10 batch (expected a dict, got "
                         f"{type(batch).__name__})")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path}: a CIFAR-10 batch needs 'data' and 'labels' entries; "
                         f"found {sorted(batch)}")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8:
        raise ValueError(f"{path}: 'data' must be uint8 of shape (N, 3072); got "
                         f"{data.dtype} {data.shape}")
    if labels.shape != (data.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"{path}: 'labels' must be {data.shape[0]} integers; got "
                         f"{labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must be 0..9; found {labels.min()}..{labels.max()}")
    return data, labels


def load_cifar10(path, split="test"):
    """CIFAR-10 from its python batch files as ``(N, 3, 32, 32)`` float32 in [0, 1].

    The "CIFAR-10 python version" archive unpacks to a folder
    ``cifar-10-batches-py`` with ``data_batch_1`` .. ``data_batch_5`` (50,000
    training images) and ``test_batch`` (10,000).  Each is a pickled dict
    whose ``b'data'`` is a uint8 array of shape ``(N, 3072)`` -- per image the
    1024 red, then 1024 green, then 1024 blue values, each plane row by row --
    and whose ``b'labels'`` is a list of ``N`` ints 0..9 (class names in
    :data:`CIFAR10_CLASSES`).  Such a row reshaped to ``(3, 32, 32)`` is the
    ``(C, H, W)`` image.  Nothing is downloaded.

    The pickles are read with an unpickler that builds only dicts, lists,
    bytes and NumPy arrays, so a tampered file cannot run code.

    Parameters
    ----------
    path : str or os.PathLike
        The ``cifar-10-batches-py`` folder, or a single batch file (then
        ``split`` is ignored).
    split : {"test", "train", "all"}, default "test"
        ``test_batch``, the five training batches, or the training batches
        followed by the test batch.

    Returns
    -------
    X : ndarray of float32, shape (N, 3, 32, 32)
        Pixel values divided by 255.
    y : ndarray of int64, shape (N,)

    Raises
    ------
    FileNotFoundError
        If ``path`` or a batch file is missing.
    ValueError
        If a file is not a CIFAR-10 batch.

    Examples
    --------
    >>> from numbacnn.datasets import load_cifar10
    >>> X, y = load_cifar10("cifar-10-batches-py", split="train")  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (50000, 3, 32, 32)
    """
    check_choice(split, "split", _SPLITS)
    path = os.fspath(path)
    if os.path.isfile(path):
        names = [path]
    elif os.path.isdir(path):
        train = [f"data_batch_{i}" for i in range(1, 6)]
        chosen = {"train": train, "test": ["test_batch"], "all": train + ["test_batch"]}[split]
        names = [os.path.join(path, n) for n in chosen]
        missing = [n for n in names if not os.path.isfile(n)]
        if missing:
            raise FileNotFoundError(
                f"CIFAR-10 batch files missing in {path}: "
                f"{', '.join(os.path.basename(m) for m in missing)}"
            )
    else:
        raise FileNotFoundError(f"no CIFAR-10 folder or batch file at {path!r}")
    parts = [_read_cifar_batch(n) for n in names]
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    X = data.reshape(-1, 3, 32, 32).astype(np.float32)
    X /= np.float32(255)
    return X, labels.astype(np.int64)
