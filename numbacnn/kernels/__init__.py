"""The lower floor: pure ``@njit`` loop kernels on arrays.

Modules here hold functions only (no classes, no Python objects, no input
validation) and never import from the floors above.  Each operation has a
``*_reference`` loop that transcribes the lecture's equation index for index
and, where speed matters, a fast kernel (``*_fast``; ``*_gemm`` for the
convolution's patch-matrix products) that the tests prove equal to it.
Kernels write into output arrays the caller allocates and return nothing.
One module per model (``conv``/``conv_gemm``, ``im2col``, ``pool``,
``correlate``, ``rnn``, ``lstm``, ``gru``); what several of them share lives in
``_math`` (the recurrent kernels' scalar functions and loops) and ``_jit``, and
no model's module imports another's.
Public, validated entry points live in :mod:`numbacnn.signal` and
:mod:`numbacnn.functional`.
"""
