"""The speed table: what the loops cost in NumPy, what compilation buys, how close to PyTorch.

Per layer, forward and forward+backward of one mini-batch, timed in the same
run for

* numbacnn (:mod:`numbacnn.functional`, compiled loops),
* the lecture's NumPy loop style and the im2col style (``numpy_baselines.py``),
* PyTorch (only with ``compare_torch=True``; ``torch_twins.py``, in a process of its
  own started before numbacnn runs anything),

and one training epoch of the small MNIST CNN (numbacnn and PyTorch
measured; the NumPy styles estimated from their per-layer times).  The loop
style is too slow to run on a whole batch: it is timed on a few samples and
scaled linearly (its cost is exactly linear in the batch size), and the
table says so.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import numpy_baselines as ls
from numpy_baselines import median_time

from numbacnn.experiments import ExperimentResult, fast_mode
from numbacnn.experiments._common import Timer

__all__ = ["speed_table"]


def _conv_case(rng, N, C, F, H, dtype):
    x = rng.standard_normal((N, C, H, H)).astype(dtype)
    w = (rng.standard_normal((F, C, 3, 3)) / np.sqrt(9 * C)).astype(dtype)
    b = np.zeros(F, dtype=dtype)
    return x, w, b


def _torch_times(specs, repeat, epoch_images, seed):
    """torch's side, in a process of its own: fwd+bwd seconds per layer spec, one epoch.

    ``specs``: ``(kind, input shape, dtype, keywords of torch_twins.time_layer)``.  Only
    shapes matter for the time, so the data are drawn here.
    """
    import torch_twins as tr

    rng = np.random.default_rng(seed)
    layers = [tr.time_layer(kind, rng.standard_normal(shape).astype(dtype), repeat, **kw)[1]
              for kind, shape, dtype, kw in specs]
    X = rng.random((epoch_images, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, epoch_images)
    r = tr.train(tr.small_cnn(), X, y, task="classify", optimizer="adam", eta=1e-3,
                 epochs=2, batch_size=64, seed=seed, dtype=np.float32)
    return layers, r["epoch_seconds"][-1]


def speed_table(batch=64, loop_samples=None, repeat=None, epoch_images=None, seed=0,
                dtype=np.float32, fast=None, compare_torch=False):
    """Time every layer and one epoch in numbacnn, the lecture's NumPy styles and PyTorch.

    Parameters
    ----------
    batch : int
        Mini-batch size of the per-layer timings (default 64, as the small CNN).
    loop_samples : int, optional
        Samples the NumPy loop style actually runs (default 2; 1 in fast mode);
        its time is scaled to ``batch``.
    repeat : int, optional
        Timed repetitions (median), default 5 (fast mode 2).
    epoch_images : int, optional
        Images in the timed epoch of the small CNN (default 7,500, the MNIST
        split of experiment 3; fast mode 256).

    Returns
    -------
    ExperimentResult
        ``table``: one row per layer in milliseconds, with ratios.
    """
    from numbacnn import Sequential
    from numbacnn.architectures import small_cnn
    from numbacnn.functional import (
        conv2d,
        conv2d_backward,
        max_pool2d,
        max_pool2d_backward,
        rnn_backward,
        rnn_forward,
    )
    from numbacnn.optimizers import Adam

    fast = fast_mode(fast)
    if fast:
        batch = min(batch, 8)
    loop_samples = loop_samples or (1 if fast else 2)
    repeat = repeat or (2 if fast else 5)
    epoch_images = epoch_images or (256 if fast else 7500)
    rng = np.random.default_rng(seed)
    Hh, T, D = 32, 20, 3
    torch_fb = torch_epoch = None
    if compare_torch:  # in a fresh process, before numbacnn runs anything here
        specs = [("conv", (batch, 1, 28, 28), dtype, dict(out_channels=32, kernel=3)),
                 ("conv", (batch, 32, 13, 13), dtype, dict(out_channels=64, kernel=3)),
                 ("maxpool", (batch, 32, 26, 26), dtype, {}),
                 ("rnn", (batch, T, D), dtype, dict(hidden=Hh))]
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            torch_fb, torch_epoch = child.submit(_torch_times, specs, repeat, epoch_images,
                                                 seed).result()
    rows = []

    def add(name, shape, nb_f, nb_fb, loops_fb, im2col_fb):
        ms = 1e3
        row = {"operation": name, "input shape": shape,
               "numbacnn fwd (ms)": nb_f * ms, "numbacnn fwd+bwd (ms)": nb_fb * ms,
               "NumPy loops fwd+bwd (ms)": loops_fb * ms,
               "NumPy im2col fwd+bwd (ms)": im2col_fb * ms,
               "loops / numbacnn": loops_fb / nb_fb,
               "im2col / numbacnn": im2col_fb / nb_fb}
        if torch_fb is not None:
            row["torch fwd+bwd (ms)"] = torch_fb[len(rows)] * ms
            row["numbacnn / torch"] = nb_fb / torch_fb[len(rows)]
        rows.append(row)

    scale = batch / loop_samples
    for C, F, H in ((1, 32, 28), (32, 64, 13)):
        x, w, b = _conv_case(rng, batch, C, F, H, dtype)
        g = np.ones((batch, F, H - 2, H - 2), dtype=dtype)
        xs, gs = x[:loop_samples], g[:loop_samples]
        nb_f = median_time(lambda x=x, w=w, b=b: conv2d(x, w, b), repeat)
        nb_fb = median_time(lambda x=x, w=w, b=b, g=g: (conv2d(x, w, b),
                                                         conv2d_backward(g, x, w)), repeat)
        loops = scale * median_time(lambda xs=xs, w=w, b=b, gs=gs: (
            ls.conv2d_loops(xs, w, b), ls.conv2d_backward_loops(gs, xs, w)), 1, 0)
        im2col = median_time(lambda x=x, w=w, b=b, g=g: (
            ls.im2col_conv2d(x, w, b), ls.im2col_conv2d_backward(g, x, w)), repeat)
        add(f"conv {C}->{F} 3x3", str(x.shape), nb_f, nb_fb, loops, im2col)

    x = rng.standard_normal((batch, 32, 26, 26)).astype(dtype)
    g = np.ones((batch, 32, 13, 13), dtype=dtype)
    xs, gs = x[:loop_samples], g[:loop_samples]
    nb_f = median_time(lambda: max_pool2d(x, 2), repeat)
    nb_fb = median_time(lambda: (max_pool2d(x, 2), max_pool2d_backward(g, x, 2)), repeat)
    loops = scale * median_time(lambda: (ls.max_pool2d_loops(xs), ls.max_pool2d_backward_loops(
        gs, xs)), 1, 0)
    im2col = median_time(lambda: (ls.max_pool2d_reshape(x), ls.max_pool2d_backward_reshape(
        g, x)), repeat)
    add("max pool 2x2", str(x.shape), nb_f, nb_fb, loops, im2col)

    x = rng.standard_normal((batch, T, D)).astype(dtype)
    h0 = np.zeros((batch, Hh), dtype=dtype)
    U = (rng.standard_normal((Hh, D)) / np.sqrt(D)).astype(dtype)
    W = (rng.standard_normal((Hh, Hh)) / np.sqrt(Hh)).astype(dtype)
    bb = np.zeros(Hh, dtype=dtype)
    V, c = np.eye(Hh, dtype=dtype), np.zeros(Hh, dtype=dtype)
    gy = np.ones((batch, T, Hh), dtype=dtype)

    def nb_rnn():
        h, _ = rnn_forward(x, h0, U, W, bb, V, c)
        return rnn_backward(gy, x, h0, h, U, W, V)

    nb_f = median_time(lambda: rnn_forward(x, h0, U, W, bb, V, c), repeat)
    nb_fb = median_time(nb_rnn, repeat)
    np_fb = median_time(lambda: ls.rnn_backward_numpy(
        gy, x, h0, ls.rnn_forward_numpy(x, h0, U, W, bb), U, W), repeat)
    # NumPy has one natural style for the RNN (a loop over time, matmuls inside)
    add(f"SimpleRNN {Hh} units, T={T}", str(x.shape), nb_f, nb_fb, np_fb, np_fb)

    # one training epoch of the small CNN on MNIST-shaped data
    X = rng.random((epoch_images, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, epoch_images)
    model = Sequential(small_cnn(), optimizer=Adam(eta=1e-3), seed=seed)
    model.fit(X[:64], y[:64], epochs=1, batch_size=64, verbose=0)  # compile
    with Timer() as tm:
        model.fit(X, y, epochs=1, batch_size=64, verbose=0)
    numbers = {"small CNN epoch numbacnn (s)": tm.seconds}
    steps = -(-epoch_images // 64)
    per_batch_layers = {}
    for r in rows[:3]:
        per_batch_layers[r["operation"]] = (r["NumPy loops fwd+bwd (ms)"],
                                            r["NumPy im2col fwd+bwd (ms)"])
    # conv1, conv2 and the first pool only (the second pool and the dense layers are left
    # out), so these are lower bounds
    loops_est = sum(v[0] for v in per_batch_layers.values()) * steps * 64 / batch / 1e3
    im2col_est = sum(v[1] for v in per_batch_layers.values()) * steps * 64 / batch / 1e3
    numbers["small CNN epoch NumPy loops, conv+pool layers only, estimated (s)"] = loops_est
    numbers["small CNN epoch NumPy im2col, conv+pool layers only, estimated (s)"] = im2col_est
    if torch_epoch is not None:
        numbers["small CNN epoch torch (s)"] = torch_epoch
        numbers["epoch ratio numbacnn/torch"] = tm.seconds / torch_epoch
    numbers["epoch images"] = epoch_images
    notes = [
        f"Per-layer times are for one mini-batch of {batch}; the NumPy loop style ran "
        f"{loop_samples} sample(s) and was scaled by {scale:g} (its cost is linear in "
        "the batch).",
        "The NumPy epoch estimates count only the conv and pool layers, so they are lower "
        "bounds on a full NumPy epoch.",
        "The SimpleRNN row times rnn_forward/rnn_backward with a gradient on every state, "
        "as SimpleRNN(return_sequences=True) calls them: through the lecture's output map "
        "y = V h + c at V = I, the kernels' way in for per-step gradients.  That is about "
        "twice the matrix-vector work of the NumPy and torch rows, which stop at h (a "
        "SimpleRNN that returns only its last state skips V).  The NumPy RNN is not a loop "
        "style but one batched matrix product per step.",
    ]
    return ExperimentResult(
        name="speed_table", title="Speed: numbacnn vs the lecture's NumPy styles vs PyTorch",
        settings={"batch": batch, "dtype": np.dtype(dtype).name, "repeat": repeat,
                  "loop_samples": loop_samples, "fast": fast},
        numbers=numbers, table=rows, notes=notes)
