"""Forward + backward of numbacnn's RNN, LSTM and GRU against torch.nn, in one run.

Usage (the machine may be shared: hold the benchmark lock)::

    flock /tmp/numbacnn-bench.lock python lab/bench_rnn.py [--out PATH.md]

For each model and dtype the script builds the torch module, copies its
weights into numbacnn's layout, checks that outputs and every gradient agree,
and only then times forward plus backward of both, alternating between them
so that background load hits both alike.  The reported time is the best of
``--repeat`` rounds of ``--number`` calls; the ratio numbacnn / torch is what
the targets refer to (simple RNN <= 1.0; LSTM and GRU <= 1.0 in float64 and
<= 2.0 in float32).

The simple RNN includes the lecture's output layer ``y = V h + c`` (torch: an
``nn.Linear`` on every step); every run computes the gradients of the input,
the initial state(s) and all weights on both sides.
"""

import os

# OpenMP wait policy: the conv and pooling benchmarks set PASSIVE because torch's large
# kernels run faster when numba's idle threads sleep.  Here it is the other way round:
# torch's recurrent layers launch many tiny ops per time step and are fastest with
# actively waiting threads (numbers: docs/experiments.rst, "Measurement notes"), so this
# benchmark keeps the default policy, under which both libraries are at their fastest.
# It must be decided before either runtime starts.
os.environ.setdefault("OMP_WAIT_POLICY", "ACTIVE")

import argparse
import platform
import time

import numba
import numpy as np
import torch

from numbacnn.functional import (
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
)

TARGETS = {
    ("rnn", "float32"): 1.0,
    ("rnn", "float64"): 1.0,
    ("lstm", "float32"): 2.0,
    ("lstm", "float64"): 1.0,
    ("gru", "float32"): 2.0,
    ("gru", "float64"): 1.0,
}
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _np(t):
    return t.detach().numpy().copy()


class Case:
    """One model in one dtype: a torch closure, a numbacnn closure and their gradients."""

    def __init__(self, model, dtype, N, T, D, H, O, seed=0):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        tdt = TORCH_DTYPES[dtype]
        self.name = model
        self.dtype = dtype
        self.x = rng.normal(size=(N, T, D)).astype(dtype)
        self.h0 = (0.1 * rng.normal(size=(N, H))).astype(dtype)
        self.c0 = (0.1 * rng.normal(size=(N, H))).astype(dtype)
        tx = torch.tensor(self.x, requires_grad=True)
        th0 = torch.tensor(self.h0[None], requires_grad=True)
        tc0 = torch.tensor(self.c0[None], requires_grad=True)
        if model == "rnn":
            rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).to(tdt)
            lin = torch.nn.Linear(H, O).to(tdt)
            self.grad_out = rng.normal(size=(N, T, O)).astype(dtype)
            tg = torch.tensor(self.grad_out)
            mods = [rnn, lin]
            self.U = _np(rnn.weight_ih_l0)
            self.W = _np(rnn.weight_hh_l0)
            self.b = _np(rnn.bias_ih_l0 + rnn.bias_hh_l0)
            self.V = _np(lin.weight)
            self.c = _np(lin.bias)

            def torch_step():
                for p in (tx, th0, *rnn.parameters(), *lin.parameters()):
                    p.grad = None
                out, _ = rnn(tx, th0)
                y = lin(out)
                y.backward(tg)
                return [y, tx.grad, th0.grad[0], rnn.weight_ih_l0.grad, rnn.weight_hh_l0.grad,
                        rnn.bias_ih_l0.grad, lin.weight.grad, lin.bias.grad]

            def ours():
                h, y = rnn_forward(self.x, self.h0, self.U, self.W, self.b, self.V, self.c)
                grads = rnn_backward(self.grad_out, self.x, self.h0, h, self.U, self.W, self.V)
                return [y, *grads[:5], *grads[5:]]

        elif model == "lstm":
            lstm = torch.nn.LSTM(D, H, batch_first=True).to(tdt)
            self.grad_out = rng.normal(size=(N, T, H)).astype(dtype)
            tg = torch.tensor(self.grad_out)
            mods = [lstm]
            self.W = _np(lstm.weight_ih_l0)
            self.U = _np(lstm.weight_hh_l0)
            self.b = _np(lstm.bias_ih_l0 + lstm.bias_hh_l0)

            def torch_step():
                for p in (tx, th0, tc0, *lstm.parameters()):
                    p.grad = None
                out, _ = lstm(tx, (th0, tc0))
                out.backward(tg)
                return [out, tx.grad, th0.grad[0], tc0.grad[0], lstm.weight_ih_l0.grad,
                        lstm.weight_hh_l0.grad, lstm.bias_ih_l0.grad]

            def ours():
                h, c, gates = lstm_forward(self.x, self.h0, self.c0, self.W, self.U, self.b)
                grads = lstm_backward(self.grad_out, self.x, self.h0, self.c0, self.W, self.U,
                                      h, c, gates)
                return [h, *grads]

        elif model == "gru":
            gru = torch.nn.GRU(D, H, batch_first=True).to(tdt)
            self.grad_out = rng.normal(size=(N, T, H)).astype(dtype)
            tg = torch.tensor(self.grad_out)
            mods = [gru]
            self.W = _np(gru.weight_ih_l0)
            self.U = _np(gru.weight_hh_l0)
            self.b_w = _np(gru.bias_ih_l0)
            self.b_u = _np(gru.bias_hh_l0)

            def torch_step():
                for p in (tx, th0, *gru.parameters()):
                    p.grad = None
                out, _ = gru(tx, th0)
                out.backward(tg)
                return [out, tx.grad, th0.grad[0], gru.weight_ih_l0.grad,
                        gru.weight_hh_l0.grad, gru.bias_ih_l0.grad, gru.bias_hh_l0.grad]

            def ours():
                h, gates = gru_forward(self.x, self.h0, self.W, self.U, self.b_w, self.b_u)
                grads = gru_backward(self.grad_out, self.x, self.h0, self.W, self.U,
                                     self.b_w, self.b_u, h, gates)
                return [h, *grads]

        else:
            raise ValueError(model)
        self.modules = mods
        self.torch_step = torch_step
        self.ours = ours

    def check(self):
        """Outputs and gradients of both must agree before anything is timed."""
        theirs = [_np(t) for t in self.torch_step()]
        mine = self.ours()
        tol = dict(rtol=1e-9, atol=1e-9) if self.dtype == "float64" else dict(rtol=2e-3, atol=2e-4)
        for k, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            assert a.dtype == np.dtype(self.dtype), (self.name, k, a.dtype)
            np.testing.assert_allclose(a, b, err_msg=f"{self.name} {self.dtype} output {k}",
                                       **tol)


def best_times(fns, number, repeat):
    """Best time per call of each function, the functions alternating round by round."""
    best = [np.inf] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t0) / number)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N", type=int, default=32)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--D", type=int, default=4)
    ap.add_argument("--H", type=int, default=64)
    ap.add_argument("--O", type=int, default=1, help="outputs of the simple RNN's V h + c")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--number", type=int, default=5, help="calls per timing round")
    ap.add_argument("--repeat", type=int, default=7, help="timing rounds (best is kept)")
    ap.add_argument("--models", default="rnn,lstm,gru")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--out", help="write a Markdown table to this path")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    rows = []
    for model in args.models.split(","):
        for dtype in args.dtypes.split(","):
            case = Case(model, dtype, args.N, args.T, args.D, args.H, args.O)
            case.check()  # also compiles (or loads) the kernels
            ours, theirs = best_times([case.ours, case.torch_step], args.number, args.repeat)
            ratio = ours / theirs
            target = TARGETS[(model, dtype)]
            rows.append((model, dtype, ours * 1e3, theirs * 1e3, ratio, target))
            print(f"{model:5s} {dtype:8s} numbacnn {ours * 1e3:8.2f} ms   torch "
                  f"{theirs * 1e3:8.2f} ms   ratio {ratio:5.2f}  (target <= {target})"
                  f"  {'ok' if ratio <= target else 'MISSED'}", flush=True)

    if args.out:
        header = (
            f"Forward + backward, N={args.N}, T={args.T}, D={args.D}, H={args.H} "
            f"(simple RNN with output size O={args.O}); {args.threads} threads for both; "
            f"best of {args.repeat} rounds of {args.number} calls.\n"
            f"numba {numba.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs.\n\n"
        )
        lines = [
            "| model | dtype | numbacnn (ms) | torch (ms) | ratio | target |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for model, dtype, ours, theirs, ratio, target in rows:
            lines.append(f"| {model} | {dtype} | {ours:.2f} | {theirs:.2f} | {ratio:.2f} | "
                         f"<= {target} |")
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            fh.write(header + "\n".join(lines) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
