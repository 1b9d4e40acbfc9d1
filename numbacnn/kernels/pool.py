"""Max and average pooling loops on ``(N, C, H, W)`` batches, forward and backward.

Window ``(i, j)`` of a pooling layer with kernel ``(kh, kw)``, stride
``(sh, sw)`` and padding ``(ph, pw)`` covers input rows
``i * sh - ph ... i * sh - ph + kh - 1`` and columns
``j * sw - pw ... j * sw - pw + kw - 1``.  Rows and columns outside the input
are padding: they never win a maximum (-inf padding) and add 0 to an average,
which is still divided by ``kh * kw`` (PyTorch's ``count_include_pad=True``).

Max pooling ties: the gradient of window ``(i, j)`` goes to the *first*
maximum in row-major window order (PyTorch's choice); a NaN always wins, the
last NaN of a window if there are several (again PyTorch's rule).

Backward routes each output's gradient to the input pixels of *its own*
window, ``grad_x[.., i * sh - ph + a, j * sw - pw + b] += grad_out[.., i, j] ...``;
where windows overlap (stride < kernel) the contributions add up.

The ``*_reference`` loops are the plain transcription; the ``*_fast`` ones run
the same arithmetic on planes ``p0`` to ``p1 - 1`` of the ``N * C``
independent planes (plane ``p`` is ``[p // C, p % C]``).  A call writes only
its own planes of the output or input gradient, so
:func:`numbacnn.functional._threads.run_ranges` runs disjoint ranges on
several threads at once.  Every kernel writes into the output array the caller
allocates and returns nothing.
"""

import numpy as np

from ._jit import jit

__all__ = [
    "max_pool2d_reference",
    "max_pool2d_backward_reference",
    "avg_pool2d_reference",
    "avg_pool2d_backward_reference",
    "max_pool2d_fast",
    "max_pool2d_backward_fast",
    "avg_pool2d_fast",
    "avg_pool2d_backward_fast",
    "max_pool2d_2x2_fast",
    "max_pool2d_2x2_backward_fast",
]


# ---------------------------------------------------------------- reference loops


@jit
def max_pool2d_reference(x, kh, kw, sh, sw, ph, pw, out):
    """Max pooling, ``out[n, c, i, j] = max_{a, b} x[n, c, i*sh - ph + a, j*sw - pw + b]``.

    Padded positions (outside ``x``) are skipped, which is the same as padding with -inf.
    """
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best = x[n, c, max(i * sh - ph, 0), max(j * sw - pw, 0)]
                    for a in range(kh):
                        for b in range(kw):
                            r = i * sh - ph + a
                            q = j * sw - pw + b
                            if 0 <= r < H and 0 <= q < W:
                                v = x[n, c, r, q]
                                if v > best or np.isnan(v):
                                    best = v
                    out[n, c, i, j] = best


@jit
def max_pool2d_backward_reference(grad_out, x, kh, kw, sh, sw, ph, pw, grad_x):
    """Add ``grad_out[n, c, i, j]`` to ``grad_x`` at the (first) maximum of window ``(i, j)``."""
    N, C, H, W = x.shape
    Ho, Wo = grad_out.shape[2], grad_out.shape[3]
    grad_x[:] = 0
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    rbest = max(i * sh - ph, 0)
                    qbest = max(j * sw - pw, 0)
                    best = x[n, c, rbest, qbest]
                    for a in range(kh):
                        for b in range(kw):
                            r = i * sh - ph + a
                            q = j * sw - pw + b
                            if 0 <= r < H and 0 <= q < W:
                                v = x[n, c, r, q]
                                if v > best or np.isnan(v):
                                    best = v
                                    rbest = r
                                    qbest = q
                    grad_x[n, c, rbest, qbest] += grad_out[n, c, i, j]


@jit
def avg_pool2d_reference(x, kh, kw, sh, sw, ph, pw, out):
    """Average pooling, ``out[n, c, i, j] = sum_{a, b} x[n, c, i*sh-ph+a, j*sw-pw+b] / (kh kw)``.

    Padded positions add nothing but still count in the divisor ``kh * kw``.
    """
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    count = out.dtype.type(kh * kw)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    total = out.dtype.type(0)
                    for a in range(kh):
                        for b in range(kw):
                            r = i * sh - ph + a
                            q = j * sw - pw + b
                            if 0 <= r < H and 0 <= q < W:
                                total += x[n, c, r, q]
                    out[n, c, i, j] = total / count


@jit
def avg_pool2d_backward_reference(grad_out, kh, kw, sh, sw, ph, pw, grad_x):
    """Spread ``grad_out[n, c, i, j] / (kh kw)`` over the input pixels of window ``(i, j)``."""
    N, C, H, W = grad_x.shape
    Ho, Wo = grad_out.shape[2], grad_out.shape[3]
    count = grad_x.dtype.type(kh * kw)
    grad_x[:] = 0
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    g = grad_out[n, c, i, j] / count
                    for a in range(kh):
                        for b in range(kw):
                            r = i * sh - ph + a
                            q = j * sw - pw + b
                            if 0 <= r < H and 0 <= q < W:
                                grad_x[n, c, r, q] += g


# ---------------------------------------------------------------- fast loops, planes p0 .. p1-1
#
# Same arithmetic, reorganised: one iteration per (n, c) plane, the
# window clipped to the input once per output instead of testing every tap,
# and 2-D plane views so the inner loops index with two integers only.


@jit
def max_pool2d_fast(x, kh, kw, sh, sw, ph, pw, p0, p1, out):
    """Planes ``p0`` to ``p1 - 1`` of :func:`max_pool2d_reference`; identical results."""
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for p in range(p0, p1):
        xp = x[p // C, p % C]
        op = out[p // C, p % C]
        for i in range(Ho):
            r0 = i * sh - ph
            a0 = max(0, -r0)
            a1 = min(kh, H - r0)
            for j in range(Wo):
                q0 = j * sw - pw
                b0 = max(0, -q0)
                b1 = min(kw, W - q0)
                best = xp[r0 + a0, q0 + b0]
                for a in range(a0, a1):
                    xrow = xp[r0 + a]
                    for b in range(b0, b1):
                        v = xrow[q0 + b]
                        # a select instead of a branch: (v > best) | isnan(v)
                        best = v if (v > best) | (v != v) else best
                op[i, j] = best


@jit
def max_pool2d_backward_fast(grad_out, x, kh, kw, sh, sw, ph, pw, p0, p1, grad_x):
    """Planes ``p0`` to ``p1 - 1`` of :func:`max_pool2d_backward_reference`; identical results.

    Each call zeroes and fills whole planes of ``grad_x`` (so the memory is
    first touched by the thread that uses it), recomputing each window's
    argmax from ``x`` instead of storing indices in the forward pass.
    """
    N, C, H, W = x.shape
    Ho, Wo = grad_out.shape[2], grad_out.shape[3]
    for p in range(p0, p1):
        xp = x[p // C, p % C]
        gp = grad_out[p // C, p % C]
        dxp = grad_x[p // C, p % C]
        dxp[:] = 0
        for i in range(Ho):
            r0 = i * sh - ph
            a0 = max(0, -r0)
            a1 = min(kh, H - r0)
            for j in range(Wo):
                q0 = j * sw - pw
                b0 = max(0, -q0)
                b1 = min(kw, W - q0)
                rbest = r0 + a0
                qbest = q0 + b0
                best = xp[rbest, qbest]
                for a in range(a0, a1):
                    xrow = xp[r0 + a]
                    for b in range(b0, b1):
                        v = xrow[q0 + b]
                        win = (v > best) | (v != v)  # v != v: v is NaN
                        best = v if win else best
                        rbest = r0 + a if win else rbest
                        qbest = q0 + b if win else qbest
                dxp[rbest, qbest] += gp[i, j]


@jit
def avg_pool2d_fast(x, kh, kw, sh, sw, ph, pw, p0, p1, out):
    """Planes ``p0`` to ``p1 - 1`` of :func:`avg_pool2d_reference`; identical results."""
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    count = out.dtype.type(kh * kw)
    zero = out.dtype.type(0)
    for p in range(p0, p1):
        xp = x[p // C, p % C]
        op = out[p // C, p % C]
        for i in range(Ho):
            r0 = i * sh - ph
            a0 = max(0, -r0)
            a1 = min(kh, H - r0)
            for j in range(Wo):
                q0 = j * sw - pw
                b0 = max(0, -q0)
                b1 = min(kw, W - q0)
                total = zero
                for a in range(a0, a1):
                    xrow = xp[r0 + a]
                    for b in range(b0, b1):
                        total += xrow[q0 + b]
                op[i, j] = total / count


@jit
def avg_pool2d_backward_fast(grad_out, kh, kw, sh, sw, ph, pw, p0, p1, grad_x):
    """Planes ``p0`` to ``p1 - 1`` of :func:`avg_pool2d_backward_reference`; identical results."""
    N, C, H, W = grad_x.shape
    Ho, Wo = grad_out.shape[2], grad_out.shape[3]
    count = grad_x.dtype.type(kh * kw)
    for p in range(p0, p1):
        gp = grad_out[p // C, p % C]
        dxp = grad_x[p // C, p % C]
        dxp[:] = 0
        for i in range(Ho):
            r0 = i * sh - ph
            a0 = max(0, -r0)
            a1 = min(kh, H - r0)
            for j in range(Wo):
                q0 = j * sw - pw
                b0 = max(0, -q0)
                b1 = min(kw, W - q0)
                g = gp[i, j] / count
                for a in range(a0, a1):
                    drow = dxp[r0 + a]
                    for b in range(b0, b1):
                        drow[q0 + b] += g


# ---------------------------------------------------------------- 2x2, stride 2, no padding
#
# The pooling of almost every CNN.  Windows do not overlap and tile the input,
# so the backward pass writes every input pixel exactly once (the gradient or
# 0) instead of zeroing the plane and scattering into it.  The comparisons are
# written as selects, not branches, so the loops over a row can be vectorised.
# The tie and NaN rule is the one of the general kernels: a later element
# replaces the current best only if it is larger or NaN.


@jit
def max_pool2d_2x2_fast(x, p0, p1, out):
    """:func:`max_pool2d_fast` for ``kh = kw = sh = sw = 2``, ``ph = pw = 0``."""
    C = x.shape[1]
    Ho, Wo = out.shape[2], out.shape[3]
    for p in range(p0, p1):
        xp = x[p // C, p % C]
        op = out[p // C, p % C]
        for i in range(Ho):
            top = xp[2 * i]
            bottom = xp[2 * i + 1]
            orow = op[i]
            for j in range(Wo):
                best = top[2 * j]
                v = top[2 * j + 1]
                best = v if ((v > best) | (v != v)) else best
                v = bottom[2 * j]
                best = v if ((v > best) | (v != v)) else best
                v = bottom[2 * j + 1]
                best = v if ((v > best) | (v != v)) else best
                orow[j] = best


@jit
def max_pool2d_2x2_backward_fast(grad_out, x, p0, p1, grad_x):
    """:func:`max_pool2d_backward_fast` for ``kh = kw = sh = sw = 2``, ``ph = pw = 0``."""
    N, C, H, W = x.shape
    Ho, Wo = grad_out.shape[2], grad_out.shape[3]
    for p in range(p0, p1):
        xp = x[p // C, p % C]
        gp = grad_out[p // C, p % C]
        dxp = grad_x[p // C, p % C]
        zero = dxp.dtype.type(0)
        for i in range(Ho):
            top = xp[2 * i]
            bottom = xp[2 * i + 1]
            dtop = dxp[2 * i]
            dbottom = dxp[2 * i + 1]
            grow = gp[i]
            for j in range(Wo):
                a = top[2 * j]
                b = top[2 * j + 1]
                c = bottom[2 * j]
                d = bottom[2 * j + 1]
                wins_b = (b > a) | (b != b)
                best = b if wins_b else a
                wins_c = (c > best) | (c != c)
                best = c if wins_c else best
                wins_d = (d > best) | (d != d)
                # the winner is the last of b, c, d that won its comparison, else a.
                # `rest` is g while no later element has won: one select per
                # gradient, which LLVM vectorizes; compound conditions (`and`, `not`)
                # compiled to branches and ran 2.3 times slower
                g = grow[j]
                g_d = g if wins_d else zero
                rest = zero if wins_d else g
                g_c = rest if wins_c else zero
                rest = zero if wins_c else rest
                g_b = rest if wins_b else zero
                g_a = zero if wins_b else rest
                dtop[2 * j] = g_a
                dtop[2 * j + 1] = g_b
                dbottom[2 * j] = g_c
                dbottom[2 * j + 1] = g_d
            # an odd width leaves the last column outside every window
            for q in range(2 * Wo, W):
                dtop[q] = zero
                dbottom[q] = zero
        # likewise an odd height leaves the last row
        for r in range(2 * Ho, H):
            dxp[r, :] = zero
