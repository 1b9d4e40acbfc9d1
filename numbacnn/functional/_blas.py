"""One BLAS thread while numba's threads call BLAS.

The matrix-product kernels of :mod:`numbacnn.kernels.conv_gemm` call BLAS
from each of numba's threads, every thread on its own part of the work.  BLAS
threads of its own would then compete with numba's for the cores, so the
private entries of :mod:`numbacnn.functional` run those kernels inside
:func:`one_blas_thread`.
"""

__all__ = ["one_blas_thread"]

_CONTROLLER = []


def one_blas_thread():
    """A context in which BLAS runs on the calling thread only.

    The threadpoolctl controller is made once (finding the loaded BLAS
    libraries takes a few hundred microseconds; entering the context then takes
    about ten), after SciPy's BLAS, the one numba's ``np.dot`` calls, is loaded.
    """
    if not _CONTROLLER:
        import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS numba calls)
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController().select(user_api="blas"))
    return _CONTROLLER[0].limit(limits=1)
