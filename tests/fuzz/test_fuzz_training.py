"""Activations, losses, optimizers, layers through a tiny Sequential, gradcheck and load_model.

The same property as everywhere (returns, or a clear ``ValueError``/``TypeError``;
inputs untouched; float32 stays float32), plus NumPy oracles for the activations
and plain SGD, and for ``load_model`` on damaged files: it loads finite float
weights or raises a ``ValueError`` (subclass) naming the file.
"""

import io
import os
import tempfile

import numpy as np
import scipy.special
from _harness import (
    SEEN,
    Raised,
    as_f64,
    assert_close,
    check_call,
    float_dtypes,
    hostile_size,
    mutate,
)
from _harness import maybe_mutated as _maybe_mutated
from hypothesis import given
from hypothesis import strategies as st

import numbacnn
from numbacnn import activations, layers, losses, optimizers

ACTIVATION_NAMES = [n for n in activations.__all__
                    if isinstance(getattr(activations, n), activations.Activation)
                    or (isinstance(getattr(activations, n), type)
                        and issubclass(getattr(activations, n), activations.Activation)
                        and getattr(activations, n) is not activations.Activation)]


def _activation(name):
    obj = getattr(activations, name)
    return obj() if isinstance(obj, type) else obj


def _activation_oracle(act, z):
    if act.name == "softmax":
        e = np.exp(z - z.max(axis=act.axis, keepdims=True))
        return e / e.sum(axis=act.axis, keepdims=True)
    return {"identity": lambda v: v, "sigmoid": scipy.special.expit, "tanh": np.tanh,
            "relu": lambda v: np.where(np.isnan(v), v, np.maximum(v, 0)),
            "leaky_relu": lambda v: np.where(v > 0, v, act.alpha * v)}[act.name](z)


@st.composite
def float_arrays(draw, max_dims=3):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=max_dims)))
    return (rng.standard_normal(shape) * 3).astype(draw(float_dtypes()))


@given(data=st.data(), name=st.sampled_from(ACTIVATION_NAMES), z=float_arrays(),
       method=st.sampled_from(["forward", "derivative", "backward"]))
def test_activation(data, name, z, method):
    act = _activation(name)
    case = {"z": z, "grad_a": np.ones_like(z)} if method == "backward" else {"z": z}
    case, key, kind = data.draw(_maybe_mutated(case))
    args = tuple(case.values())
    out = check_call(f"activations.{name}", getattr(act, method), args,
                     argnames=list(case) + ["axis"], arrays=list(args))
    if isinstance(out, Raised) or method != "forward" or act.name == "softmax" and key:
        return
    zz = as_f64(case["z"]) if np.asarray(case["z"]).dtype.kind in "biuf" else None
    assert zz is not None, f"{name}.forward accepted dtype {np.asarray(case['z']).dtype}"
    with np.errstate(all="ignore"):
        exp = _activation_oracle(act, zz)
    tol = dict(rtol=1e-12, atol=1e-15) if out.dtype == np.float64 else dict(rtol=1e-6, atol=1e-7)
    assert_close(out, exp, **tol, what=f"{name}.forward")


SPECS = st.one_of(st.sampled_from(["relu", "sigmoid", "nope", "", None, 3, 2.5, {"name": "tanh"},
                                   {"name": 1}, {"nope": 1}, [1], b"relu",
                                   {"name": "leaky_relu", "alpha": -1},
                                   {"name": "softmax", "axis": 2**63}]), st.text(max_size=5))


@given(spec=SPECS, which=st.sampled_from(["activations.get_activation", "losses.get_loss",
                                          "optimizers.get_optimizer"]))
def test_get_by_name(spec, which):
    module, fn = which.split(".")
    check_call(which, getattr(globals()[module], fn), (spec,),
               argnames=["spec", "name", "alpha", "axis", "eta", "activation", "loss",
                         "optimizer"])


LOSS_NAMES = [n for n in losses.__all__ if isinstance(getattr(losses, n), type)
              and issubclass(getattr(losses, n), losses.Loss)
              and getattr(losses, n) is not losses.Loss]


@st.composite
def loss_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(float_dtypes())
    N, K = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pred = rng.uniform(0.05, 0.95, (N, K)).astype(dtype)
    kind = draw(st.sampled_from(["labels", "onehot", "binary", "real"]))
    if kind == "labels":
        true = rng.integers(0, K, N)
    elif kind == "onehot":
        true = np.eye(K, dtype=dtype)[rng.integers(0, K, N)]
    elif kind == "binary":
        true = rng.integers(0, 2, (N, K)).astype(dtype)
    else:
        true = rng.standard_normal((N, K)).astype(dtype)
    return {"y_pred": pred, "y_true": true}


@given(data=st.data(), name=st.sampled_from(LOSS_NAMES), case=loss_cases(),
       method=st.sampled_from(["forward", "backward", "forward_from_logits",
                               "backward_from_logits"]))
def test_loss(data, name, case, method):
    loss = getattr(losses, name)()
    fn = getattr(loss, method, None)
    case, key, kind = data.draw(_maybe_mutated(case))
    argnames = ["y_pred", "y_true", "z", "logits"]
    out = check_call(f"losses.{name}", fn, (case["y_pred"], case["y_true"]), argnames=argnames,
                     arrays=[case["y_pred"]])
    if not isinstance(out, Raised) and method.startswith("backward"):
        assert np.shape(out) == np.shape(case["y_pred"])


@given(y=st.one_of(st.lists(st.integers(-2, 5), min_size=0, max_size=6).map(np.array),
                   float_arrays(max_dims=2)),
       n_classes=st.one_of(st.integers(1, 6), hostile_size()),
       dtype=st.sampled_from([np.float64, np.float32, np.int64, "float16", None, "x"]))
def test_labels_to_onehot(y, n_classes, dtype):
    out = check_call("losses.labels_to_onehot", losses.labels_to_onehot, (y, n_classes),
                     dict(dtype=dtype), argnames=["y_true", "n_classes", "dtype"])
    if not isinstance(out, Raised):
        assert out.shape == (len(y), n_classes)


OPTIMIZER_NAMES = [n for n in optimizers.__all__ if isinstance(getattr(optimizers, n), type)
                   and getattr(optimizers, n) is not optimizers.Optimizer]


@given(data=st.data(), name=st.sampled_from(OPTIMIZER_NAMES), p=float_arrays(),
       steps=st.integers(1, 3))
def test_optimizer_step(data, name, p, steps):
    opt = getattr(optimizers, name)(eta=0.01)
    grads, key, kind = data.draw(_maybe_mutated({"w": np.full_like(p, 0.5)}))
    params = {"w": p.copy()}
    for _ in range(steps):
        before = params["w"].copy()
        out = check_call(f"optimizers.{name}", opt.step, (params, grads), argnames=["params",
                         "grads", "eta"], mutable=(0,))
        if isinstance(out, Raised):
            return
        assert params["w"].dtype == p.dtype, f"{name}.step changed the dtype of a parameter"
        if name == "SGD":
            g = as_f64(grads["w"]).astype(p.dtype)
            expected = before - p.dtype.type(0.01) * g
            tol = 1e-15 if p.dtype == np.float64 else 1e-7
            assert_close(params["w"], expected, rtol=tol, atol=tol, what="SGD.step")


def _tiny_model(draw, kind):
    """A (layers, X, y) triple: a small network for images, sequences or vectors."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(float_dtypes())
    N = draw(st.integers(1, 5))
    if kind == "image":
        # half the image examples draw only valid sizes: with four sizes each hostile
        # half the time, a whole stack (and so each pooling kind) reached fit in about
        # one example in a hundred, and a run could miss a layer kind altogether
        valid_only = draw(st.booleans())

        def size(valid):
            return valid if valid_only else st.one_of(valid, hostile_size())

        k = draw(size(st.integers(1, 3)))
        s = draw(size(st.integers(1, 2)))
        pad = draw(size(st.one_of(st.integers(0, 1), st.just("same"))))
        pool = draw(st.sampled_from([layers.MaxPool2D, layers.AvgPool2D]))
        pk = draw(size(st.integers(1, 2)))
        stack = [lambda: layers.Conv2D(2, k, stride=s, padding=pad if pad != "same" or s == 1
                                       else 0, activation="relu"),
                 lambda: pool(pk), layers.Flatten, lambda: layers.Dense(3, activation="softmax")]
        X = rng.standard_normal((N, 1, 6, 6))
    elif kind == "sequence":
        cell = draw(st.sampled_from([layers.SimpleRNN, layers.LSTM, layers.GRU]))
        units = draw(st.one_of(st.integers(1, 3), hostile_size()))
        stack = [lambda: cell(units), lambda: layers.Dense(3, activation="softmax")]
        X = rng.standard_normal((N, 3, 2))
    else:
        units = draw(st.one_of(st.integers(1, 4), hostile_size()))
        rate = draw(st.one_of(st.floats(0, 0.95), st.sampled_from([1.0, -0.5, float("nan")])))
        stack = [lambda: layers.Dense(units, activation="tanh"), lambda: layers.Dropout(rate),
                 lambda: layers.Dense(3, activation="softmax")]
        X = rng.standard_normal((N, 4))
    return stack, X.astype(dtype), rng.integers(0, 3, N)


@given(data=st.data(), kind=st.sampled_from(["image", "sequence", "vector"]))
def test_sequential_fit_predict(data, kind):
    stack, X, y = _tiny_model(data.draw, kind)
    built = []
    for make in stack:
        layer = check_call(f"layers.{kind}", make, argnames=["units", "kernel_size", "stride",
                                                            "padding", "out_channels", "rate"])
        if isinstance(layer, Raised):
            return
        built.append(layer)
    case, key, mut = data.draw(_maybe_mutated({"X": X, "y": y}))
    model = numbacnn.Sequential(built, loss="categorical_crossentropy", optimizer="adam", seed=0)
    batch = data.draw(st.one_of(st.integers(1, 4), hostile_size()))
    names = ["X", "y", "batch_size", "epochs", "input_shape", "kernel_size", "stride", "padding",
             "units"]
    SEEN.update(f"layers.{type(layer).__name__}" for layer in built)
    hist = check_call("Sequential.fit", model.fit, (case["X"], case["y"]),
                      dict(epochs=1, batch_size=batch, verbose=0), argnames=names)
    if isinstance(hist, Raised):
        return
    out = check_call("Sequential.predict", model.predict, (case["X"],), argnames=names)
    if not isinstance(out, Raised):
        assert len(out) == len(case["X"])
    proba = check_call("Sequential.predict_proba", model.predict_proba, (case["X"],),
                       argnames=names, arrays=[case["X"]])
    if not isinstance(proba, Raised) and np.isfinite(as_f64(case["X"])).all():
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@given(data=st.data(), x=float_arrays(max_dims=2))
def test_gradcheck(data, x):
    case, key, kind = data.draw(_maybe_mutated({"x": x}))
    inputs = data.draw(st.sampled_from(["list", "tuple", "bare", "none"]))
    inputs = {"list": [case["x"]], "tuple": (case["x"],), "bare": case["x"], "none": None}[inputs]
    try:
        x0 = np.asarray(case["x"], dtype=np.float64)
    except (ValueError, TypeError):
        x0 = 0.0

    def backward(g):
        return [g * (1 - np.tanh(x0) ** 2)]

    out = check_call("gradcheck", numbacnn.gradcheck, (np.tanh, backward, inputs),
                     dict(raise_exception=False), argnames=["inputs", "forward", "backward"])
    if isinstance(out, Raised) or key is not None:
        return
    # central differences lose digits where tanh is flat: |tanh'(x)| > 1e-2 keeps their
    # rounding error (about 1e-16 / eps / |tanh'|) well inside the bound
    if np.all(np.abs(x0) < 2.5):
        assert all(e is None or e < 1e-6 for e in np.atleast_1d(out)), f"gradcheck errors {out}"


def _model_bytes():
    model = numbacnn.Sequential([layers.Dense(2)], loss="mse", optimizer="adam", seed=0)
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.npz")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


MODEL_BYTES = None


@given(data=st.data(), how=st.sampled_from(["truncate", "flip", "insert", "random", "empty",
                                            "zip_member", "array"]))
def test_load_model_on_damaged_files(data, how):
    global MODEL_BYTES
    if MODEL_BYTES is None:
        MODEL_BYTES = _model_bytes()
    raw = bytearray(MODEL_BYTES)
    pos = data.draw(st.integers(0, len(raw) - 1))
    if how == "truncate":
        raw = raw[:pos]
    elif how == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    elif how == "insert":
        raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
    elif how == "random":
        raw = bytearray(data.draw(st.binary(max_size=64)))
    elif how == "empty":
        raw = bytearray()
    else:
        import zipfile
        buf = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(bytes(raw))) as src, zipfile.ZipFile(buf, "w") as dst:
            names = src.namelist()
            victim = data.draw(st.sampled_from(names))
            for n in names:
                payload = src.read(n)
                if n != victim:
                    dst.writestr(n, payload)
                elif how == "array":
                    arr = np.load(io.BytesIO(payload))
                    arr, _ = mutate(data.draw, arr, np.random.default_rng(0))
                    out = io.BytesIO()
                    np.save(out, np.asarray(arr) if not isinstance(arr, list) else np.array(
                        arr, dtype=object), allow_pickle=True)
                    dst.writestr(n, out.getvalue())
        raw = bytearray(buf.getvalue())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "damaged.npz")
        with open(path, "wb") as fh:
            fh.write(bytes(raw))
        try:
            out = check_call("load_model", numbacnn.load_model, (path,), argnames=["damaged.npz"])
        except AssertionError:
            raise
        if isinstance(out, Raised):
            assert isinstance(out.exc, ValueError), (
                f"load_model raised {type(out.exc).__name__}, not a ValueError: {out.exc}")
            return
        for w in out.get_weights():
            assert w.dtype.kind == "f" and np.isfinite(w).all(), (
                f"load_model loaded a {w.dtype} weight with non-finite or non-float values")
