"""The fuzz worker: collected only inside the subprocess that tests/test_fuzz.py starts.

``NUMBACNN_FUZZ_WORKER=1`` marks that process.  There, the address space is
capped (so that a runaway allocation is a ``MemoryError``, not a machine out
of memory), faulthandler prints the stacks of a crash, and at the end the
number of calls per entry point goes to the file named by
``NUMBACNN_FUZZ_STATS`` (JSON), which the driver checks.
"""

import json
import os
import resource

WORKER = os.environ.get("NUMBACNN_FUZZ_WORKER") == "1"

if not WORKER:
    collect_ignore_glob = ["test_*.py"]

#: bytes of address space the worker may add to what it holds after start-up
HEADROOM = 3 * 2**30


#: examples per property under any profile but ``fuzz`` (the regular test envs)
SMALL_BUDGET = 10


def pytest_configure(config):
    if not WORKER:
        return
    from hypothesis import settings

    profile = os.environ.get("HYPOTHESIS_PROFILE", "dev")
    if profile != "fuzz":
        current = settings.get_profile(profile)
        settings.register_profile("fuzz-small", parent=current,
                                  max_examples=min(current.max_examples, SMALL_BUDGET))
        settings.load_profile("fuzz-small")
    with open("/proc/self/status") as fh:
        vm = next(line for line in fh if line.startswith("VmSize:"))
    used = int(vm.split()[1]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = used + HEADROOM
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("NUMBACNN_FUZZ_STATS")
    if not (WORKER and path):
        return
    from _harness import CALLS, SEEN

    with open(path, "w") as fh:
        json.dump({"calls": dict(CALLS), "seen": sorted(SEEN | set(CALLS))}, fh, indent=1)
