"""Shared test configuration: Hypothesis profiles chosen by an environment variable.

* ``dev`` (default): explores freely, no deadline (the first call of a kernel compiles it).
* ``ci``: fewer examples, derandomized so that a CI run is reproducible.
* ``nojit``: for ``NUMBA_DISABLE_JIT=1``, where every kernel runs as slow plain Python.
* ``fuzz``: the tox env ``fuzz``: many examples per property of tests/fuzz/ (derandomized);
  under every other profile tests/fuzz/ runs only a few (tests/fuzz/conftest.py).
"""

import os

from hypothesis import HealthCheck, settings

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, **_common)
settings.register_profile("ci", max_examples=30, derandomize=True, **_common)
settings.register_profile("nojit", max_examples=8, derandomize=True, **_common)
settings.register_profile("fuzz", max_examples=300, derandomize=True, **_common)

_default = "nojit" if os.environ.get("NUMBA_DISABLE_JIT") == "1" else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))
