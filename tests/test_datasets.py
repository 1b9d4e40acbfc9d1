"""Data set loaders (bundled MNIST, idx/CIFAR files written here) and the time series."""

import gzip
import math
import os
import pickle
import struct
import urllib.error

import numpy as np
import pytest

from numbacnn import datasets as D
from numbacnn.datasets import _images

DATA = os.path.join(os.path.dirname(D.__file__), "data")
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}


def write_idx(path, arr, compress=False):
    """An IDX writer written from the format description, independent of the reader."""
    arr = np.asarray(arr)
    code = IDX_CODES[arr.dtype.type]
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim)
    header += struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    if compress:
        payload = gzip.compress(payload)
    with open(path, "wb") as f:
        f.write(payload)
    return path


def write_mnist_folder(folder, n_train=5, n_test=3, compress=True, seed=0, dot=False):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    out = {}
    sep = "." if dot else "-"
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        ext = ".gz" if compress else ""
        write_idx(os.path.join(folder, f"{prefix}-images{sep}idx3-ubyte{ext}"), images, compress)
        write_idx(os.path.join(folder, f"{prefix}-labels{sep}idx1-ubyte{ext}"), labels, compress)
        out[prefix] = (images, labels)
    return out


# ---------------------------------------------------------------- digits
def test_load_digits_images():
    from sklearn.datasets import load_digits

    X, y = D.load_digits_images()
    ref = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    np.testing.assert_array_equal(X[:, 0], ref.images)  # raw 0..16, not rescaled
    np.testing.assert_array_equal(X.reshape(1797, 64), ref.data)
    assert X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(y, ref.target)
    bunch = D.load_digits_images(return_X_y=False)
    np.testing.assert_array_equal(bunch.data, X)
    np.testing.assert_array_equal(bunch.target, y)
    assert list(bunch.target_names) == list(range(10))


# ---------------------------------------------------------------- bundled MNIST
def test_bundled_mnist_matches_raw_bytes():
    X, y = D.load_mnist()
    assert X.shape == (10000, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    # decode the shipped files by hand: 16-byte header for images, 8 for labels
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")) as f:
        raw_img = f.read()
    with gzip.open(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")) as f:
        raw_lab = f.read()
    assert struct.unpack(">IIII", raw_img[:16]) == (2051, 10000, 28, 28)
    assert struct.unpack(">II", raw_lab[:8]) == (2049, 10000)
    pixels = np.frombuffer(raw_img, np.uint8, offset=16).reshape(10000, 28, 28)
    np.testing.assert_array_equal(X[:, 0], pixels.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y, np.frombuffer(raw_lab, np.uint8, offset=8))
    assert X.min() == 0.0 and X.max() == 1.0
    # the published class sizes of the MNIST test set
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_bundled_licence_is_shipped():
    text = open(os.path.join(DATA, "MNIST-LICENSE.txt")).read()
    for needle in ("CC BY-SA 3.0", "Yann LeCun", "Corinna Cortes", "Christopher J.C. Burges",
                   "creativecommons.org/licenses/by-sa/3.0"):
        assert needle in text


def test_bundled_mnist_split_errors():
    with pytest.raises(ValueError, match="10k test set only.*split='train'"):
        D.load_mnist(split="train")
    with pytest.raises(ValueError, match="split must be one of"):
        D.load_mnist(split="validation")
    with pytest.raises(ValueError, match="source must be one of"):
        D.load_mnist(source="internet")
    with pytest.raises(ValueError, match="either path or source='openml'"):
        D.load_mnist(path=DATA, source="openml")


# ---------------------------------------------------------------- MNIST from a folder
@pytest.mark.parametrize("compress, dot", [(True, False), (False, False), (True, True)])
def test_load_mnist_from_folder(tmp_path, compress, dot):
    ref = write_mnist_folder(tmp_path, compress=compress, dot=dot)
    X, y = D.load_mnist(path=tmp_path)  # default split: test
    np.testing.assert_array_equal(X[:, 0] * 255, ref["t10k"][0].astype(np.float32))
    np.testing.assert_array_equal(y, ref["t10k"][1])
    Xtr, ytr = D.load_mnist(path=str(tmp_path), split="train")
    assert Xtr.shape == (5, 1, 28, 28) and ytr.dtype == np.int64
    np.testing.assert_array_equal(ytr, ref["train"][1])
    Xall, yall = D.load_mnist(path=tmp_path, split="all")
    np.testing.assert_array_equal(Xall, np.concatenate([Xtr, X]))
    np.testing.assert_array_equal(yall, np.concatenate([ytr, y]))


def test_load_mnist_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="must be a folder"):
        D.load_mnist(path=tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="no t10k-images-idx3-ubyte"):
        D.load_mnist(path=tmp_path)
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 255, (4, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="holds 4 images but .* holds 3 labels"):
        D.load_mnist(path=tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 12], np.uint8))
    with pytest.raises(ValueError, match="labels must be 0..9; found 12"):
        D.load_mnist(path=tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros((4, 1), np.uint8))
    with pytest.raises(ValueError, match=r"expected uint8 labels of shape \(N,\)"):
        D.load_mnist(path=tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28), np.float32))
    with pytest.raises(ValueError, match="expected uint8 images"):
        D.load_mnist(path=tmp_path)


# ---------------------------------------------------------------- OpenML (never online in tests)
def test_openml_offline_error_is_one_clear_line(monkeypatch):
    import sklearn.datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure\nin name resolution")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(ConnectionError) as info:
        D.load_mnist(source="openml")
    msg = str(info.value)
    assert "\n" not in msg
    assert "could not fetch MNIST from OpenML" in msg and "URLError" in msg
    assert "load_mnist()" in msg  # says what to do instead


def test_openml_result_is_converted(monkeypatch):
    import sklearn.datasets

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(7, 784)).astype(np.float64)
    labels = np.array(list("0123459"), dtype=object)  # OpenML gives strings
    calls = []

    def fake(name, **kwargs):
        calls.append((name, kwargs))
        return pixels, labels

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", fake)
    X, y = D.load_mnist(source="openml", split="all")
    assert calls[0][0] == "mnist_784" and calls[0][1]["return_X_y"]
    assert X.shape == (7, 1, 28, 28) and X.dtype == np.float32
    np.testing.assert_allclose(X.reshape(7, 784), pixels / 255, rtol=1e-6)
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3, 4, 5, 9]


# ---------------------------------------------------------------- idx reader
@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(1)
    arr = (rng.normal(size=(3, 4, 2)) * 50).astype(dtype)
    # a gzipped file without .gz in its name: compression is found from the content
    path = write_idx(tmp_path / "x-idx3", arr, compress)
    out = D.load_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 1  # writable
    assert D.load_idx(str(path)).shape == (3, 4, 2)


def _corrupt(tmp_path, payload, name="bad"):
    path = tmp_path / name
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize(
    "payload, match",
    [(b"\x00\x00", "too short"),
     (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "not an IDX file"),
     (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "not an IDX file"),
     (b"\x00\x00\x08\x00", "0 dimensions"),
     (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "truncated IDX header"),
     (b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + bytes(5), r"shape \(2, 3\).*holds 5"),
     (b"\x00\x00\x0c\x01" + struct.pack(">I", 2) + bytes(9), r"\(8 data bytes\).*holds 9"),
     (b"PK\x03\x04 a zip file, not idx", "not an IDX file")],
)
def test_load_idx_rejects_corrupt_files(tmp_path, payload, match):
    path = _corrupt(tmp_path, payload)
    with pytest.raises(ValueError, match=match) as info:
        D.load_idx(path)
    assert str(path) in str(info.value)


def test_load_idx_corrupt_gzip(tmp_path):
    good = gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 100) + bytes(100))
    path = _corrupt(tmp_path, good[: len(good) // 2], "cut.gz")
    with pytest.raises(ValueError, match="not a valid gzip file"):
        D.load_idx(path)
    with pytest.raises(FileNotFoundError):
        D.load_idx(tmp_path / "missing.gz")


# ---------------------------------------------------------------- Fashion-MNIST
def test_fashion_mnist_from_folder(tmp_path):
    ref = write_mnist_folder(tmp_path, n_train=4, n_test=2, seed=3)
    X, y = D.load_fashion_mnist(path=tmp_path, split="train")
    np.testing.assert_array_equal(y, ref["train"][1])
    np.testing.assert_allclose(X[:, 0], ref["train"][0] / 255, rtol=1e-6)
    X, y = D.load_fashion_mnist(tmp_path)
    assert X.shape == (2, 1, 28, 28)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no train-images") as info:
        D.load_fashion_mnist(path=tmp_path / "empty", split="train")
    assert "dataset-fashion-mnist" not in str(info.value)  # a user path: no apt advice


def test_fashion_mnist_missing_package_names_it(monkeypatch, tmp_path):
    monkeypatch.setattr(_images, "FASHION_MNIST_PATH", str(tmp_path / "not-installed"))
    with pytest.raises(FileNotFoundError, match="install the Debian package dataset-fashion-mnist"):
        D.load_fashion_mnist()


@pytest.mark.skipif(not os.path.isdir(D.FASHION_MNIST_PATH),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_installed_package():
    X, y = D.load_fashion_mnist(split="test")
    assert X.shape == (10000, 1, 28, 28) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [1000] * 10
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert len(D.FASHION_MNIST_CLASSES) == 10


# ---------------------------------------------------------------- CIFAR-10
def _cifar_batch(n, seed, labels=None):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    if labels is None:
        labels = rng.integers(0, 10, size=n).tolist()
    return {b"batch_label": b"fake batch", b"labels": labels, b"data": data,
            b"filenames": [b"img%d.png" % i for i in range(n)]}


def _write_pickle(path, obj, protocol=2):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def test_load_cifar10_folder(tmp_path):
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        batches[name] = _cifar_batch(3, seed=i)
        _write_pickle(tmp_path / name, batches[name], protocol=2 if i % 2 else 4)
    X, y = D.load_cifar10(tmp_path)
    assert X.shape == (3, 3, 32, 32) and X.dtype == np.float32 and y.dtype == np.int64
    data = batches["test_batch"][b"data"]
    # channel c, row h, column w sits at c*1024 + h*32 + w of a data row
    for n, c, h, w in [(0, 0, 0, 0), (1, 1, 5, 7), (2, 2, 31, 30)]:
        assert X[n, c, h, w] * 255 == pytest.approx(data[n, c * 1024 + h * 32 + w], abs=1e-4)
    assert y.tolist() == batches["test_batch"][b"labels"]
    Xtr, ytr = D.load_cifar10(str(tmp_path), split="train")
    assert Xtr.shape == (15, 3, 32, 32)
    assert ytr.tolist() == sum((batches[f"data_batch_{k}"][b"labels"] for k in range(1, 6)), [])
    Xall, yall = D.load_cifar10(tmp_path, split="all")
    np.testing.assert_array_equal(Xall[-3:], X)
    np.testing.assert_array_equal(yall, np.concatenate([ytr, y]))
    # a single batch file
    X1, y1 = D.load_cifar10(tmp_path / "data_batch_2")
    np.testing.assert_array_equal(X1, Xtr[3:6])


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo owned > /dev/null",))


@pytest.mark.parametrize(
    "obj, match",
    [({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"labels must be 0..9"),
     ({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}, r"\(N, 3072\)"),
     ({b"data": np.zeros((2, 3072), np.float64), b"labels": [0, 1]}, r"\(N, 3072\)"),
     ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "'labels' must be 2 integers"),
     ({b"data": np.zeros((2, 3072), np.uint8)}, "needs 'data' and 'labels'"),
     ([1, 2, 3], "expected a dict"),
     ({b"data": _Evil(), b"labels": [0]}, "refusing to load")],
)
def test_load_cifar10_rejects_bad_batches(tmp_path, obj, match):
    _write_pickle(tmp_path / "test_batch", obj)
    with pytest.raises(ValueError, match=match):
        D.load_cifar10(tmp_path / "test_batch")


def test_load_cifar10_missing_and_garbage(tmp_path):
    _write_pickle(tmp_path / "test_batch", _cifar_batch(2, 0))
    with pytest.raises(FileNotFoundError, match="data_batch_1, data_batch_2"):
        D.load_cifar10(tmp_path, split="train")
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 folder"):
        D.load_cifar10(tmp_path / "nope")
    (tmp_path / "junk").write_bytes(b"this is not a pickle")
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch file"):
        D.load_cifar10(tmp_path / "junk")


# ---------------------------------------------------------------- sine
def test_sine_series_is_the_lecture_formula():
    t, x = D.sine_series(1000, seed=42)
    np.testing.assert_array_equal(t, np.arange(1000))
    u = np.random.default_rng(42).uniform(0, 1, size=1000)
    np.testing.assert_allclose(x, np.sin(0.02 * t) + 2 * u, rtol=1e-15)
    t2, x2 = D.sine_series(1000, seed=42)
    np.testing.assert_array_equal(x, x2)
    assert not np.array_equal(x, D.sine_series(1000, seed=43)[1])


def test_sine_series_noise_statistics():
    t, x = D.sine_series(20000, noise=2.0, seed=0)
    r = x - np.sin(0.02 * t)
    assert r.min() >= 0 and r.max() < 2
    assert abs(r.mean() - 1.0) < 0.03  # not centred: mean a/2
    assert abs(r.var() - 1 / 3) < 0.02  # the noise floor a^2/12
    t, x = D.sine_series(5, noise=0.0)
    np.testing.assert_allclose(x, np.sin(0.02 * np.arange(5)))


@pytest.mark.parametrize("kwargs, match",
                         [(dict(n=0), "n must be an integer >= 1"),
                          (dict(n=2.5), "n must be"),
                          (dict(noise=-1.0), "noise must be >= 0"),
                          (dict(noise=float("inf")), "noise must be a finite")])
def test_sine_series_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.sine_series(**kwargs)


# ---------------------------------------------------------------- oscillator
def exact_oscillator(t, gamma, omega, x0, v0):
    """Closed-form solution of x'' + gamma x' + x = cos(omega t) (underdamped)."""
    den = (1 - omega**2) ** 2 + (gamma * omega) ** 2
    A, B = (1 - omega**2) / den, gamma * omega / den
    lam, wd = -gamma / 2, math.sqrt(1 - gamma**2 / 4)
    C1 = x0 - A
    C2 = (v0 - lam * C1 - B * omega) / wd
    e = np.exp(lam * t)
    x = e * (C1 * np.cos(wd * t) + C2 * np.sin(wd * t)) + A * np.cos(omega * t) \
        + B * np.sin(omega * t)
    v = e * ((lam * C1 + wd * C2) * np.cos(wd * t) + (lam * C2 - wd * C1) * np.sin(wd * t)) \
        - A * omega * np.sin(omega * t) + B * omega * np.cos(omega * t)
    return x, v


def test_oscillator_rk4_matches_closed_form():
    t, x, v, F = D.damped_oscillator(40.0, dt=0.05, gamma=0.2, omega=1.2, x0=1.0, v0=0.0)
    assert t.shape == (801,) and t[-1] == pytest.approx(40.0)
    xe, ve = exact_oscillator(t, 0.2, 1.2, 1.0, 0.0)
    # global RK4 error is C dt^4 (dt^4 = 6.25e-6); Euler's would be ~1e-1 here
    err = max(np.max(np.abs(x - xe)), np.max(np.abs(v - ve)))
    assert err < 0.05**4
    _, xeu, _, _ = D.damped_oscillator(40.0, dt=0.05, method="euler")
    assert np.max(np.abs(xeu - xe)) > 1e3 * err
    np.testing.assert_allclose(F, np.cos(1.2 * t), rtol=1e-15)


@pytest.mark.parametrize("method, order", [("rk4", 4), ("euler", 1)])
def test_oscillator_convergence_order(method, order):
    errs = []
    for dt in (0.1, 0.05):
        t, x, v, _ = D.damped_oscillator(10.0, dt=dt, gamma=0.3, omega=0.7, x0=0.5, v0=-1.0,
                                         method=method)
        xe, _ = exact_oscillator(t, 0.3, 0.7, 0.5, -1.0)
        errs.append(np.max(np.abs(x - xe)))
    observed = math.log2(errs[0] / errs[1])
    assert abs(observed - order) < 0.3


def test_oscillator_euler_is_the_lecture_step():
    t, x, v, F = D.damped_oscillator(0.3, dt=0.1, gamma=0.2, omega=1.2, x0=1.0, v0=0.5,
                                     method="euler")
    xi, vi = 1.0, 0.5
    for i in range(3):
        xi, vi = xi + 0.1 * vi, vi + 0.1 * (math.cos(1.2 * 0.1 * i) - 0.2 * vi - xi)
        assert x[i + 1] == pytest.approx(xi, rel=1e-14) and v[i + 1] == pytest.approx(vi)


@pytest.mark.parametrize("kwargs, match",
                         [(dict(t_max=0.0), "t_max must be a finite number > 0"),
                          (dict(t_max=1.0, dt=-0.1), "dt must be"),
                          (dict(t_max=0.01, dt=0.05), "t_max must be at least dt"),
                          (dict(t_max=1.0, gamma=float("nan")), "gamma must be a finite"),
                          (dict(t_max=1.0, method="leapfrog"), "method must be one of")])
def test_oscillator_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.damped_oscillator(**kwargs)


# ---------------------------------------------------------------- windows
def lecture_convert_to_matrix(data, step):
    """The lecture's convertToMatrix, transcribed (without its padding)."""
    X, Y = [], []
    for i in range(len(data) - step):
        d = i + step
        X.append(data[i:d])
        Y.append(data[d])
    return np.array(X), np.array(Y)


@pytest.mark.parametrize("T, steps", [(10, 4), (5, 1), (6, 5)])
def test_sliding_windows_matches_lecture_loop(T, steps):
    s = np.random.default_rng(T).normal(size=T)
    X, y = D.sliding_windows(s, steps)
    Xl, yl = lecture_convert_to_matrix(s, steps)
    assert X.shape == (T - steps, steps, 1) and y.shape == (T - steps,)
    np.testing.assert_array_equal(X[:, :, 0], Xl)
    np.testing.assert_array_equal(y, yl)


def test_sliding_windows_multichannel_horizon_and_index():
    T, D_ = 9, 3
    s = np.arange(T * D_, dtype=np.float32).reshape(T, D_)
    X, y, idx = D.sliding_windows(s, steps=3, horizon=2, return_index=True)
    n = T - 3 - 2 + 1
    assert X.shape == (n, 3, D_) and y.shape == (n, D_) and X.dtype == np.float32
    for i in range(n):
        np.testing.assert_array_equal(X[i], s[i:i + 3])
        np.testing.assert_array_equal(y[i], s[i + 4])
        assert idx[i] == i + 4
    # every sample from steps+horizon-1 on is a target exactly once, nothing padded
    assert idx.tolist() == list(range(4, T))
    X[0, 0, 0] = -1  # a new array: the series is untouched
    assert s[0, 0] == 0


def test_sliding_windows_errors_and_integers():
    X, y = D.sliding_windows([1, 2, 3], 2)
    assert X.dtype == np.float64 and y.tolist() == [3.0]
    with pytest.raises(ValueError, match="needs at least 4 samples"):
        D.sliding_windows(np.zeros(3), steps=3)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        D.sliding_windows(np.zeros(5), steps=0)
    with pytest.raises(ValueError, match="horizon must be"):
        D.sliding_windows(np.zeros(5), steps=2, horizon=1.5)
    with pytest.raises(ValueError, match=r"series must be 1-D \(T,\) or 2-D"):
        D.sliding_windows(np.zeros((4, 2, 2)), steps=2)
