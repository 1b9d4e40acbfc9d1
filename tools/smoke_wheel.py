"""Smoke test of an installed numbacnn wheel: ``python tools/smoke_wheel.py SOURCE_ROOT``.

``tox -e wheel`` builds the wheel, installs it (not editable) into a fresh environment and
runs this script from a directory outside the source tree.  It fails (exit status 1, one
line per failed check) unless

* ``numbacnn`` is imported from the environment, not from ``SOURCE_ROOT``, and was installed
  from a wheel file, not as an editable project;
* the installed metadata has the package's version, licence expression and Project-URLs, and
  the licence files are in the ``.dist-info`` folder;
* the bundled MNIST files are installed, load as 10,000 images of every digit, and one epoch
  of a small CNN on a few hundred of them lowers the loss on other images;
* ``python -m numbacnn --help`` and the ``numbacnn`` script run.
"""

import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig

FAILURES = []


def check(ok, what):
    print(("ok      " if ok else "FAILED  ") + what)
    if not ok:
        FAILURES.append(what)


def installed_from_a_wheel(source_root):
    import numbacnn

    where = os.path.realpath(os.path.dirname(numbacnn.__file__))
    site = os.path.realpath(sysconfig.get_paths()["purelib"])
    # (tox's envs may live inside the source tree, so "outside" means not its numbacnn/)
    check(where == os.path.join(site, "numbacnn")
          and where != os.path.realpath(os.path.join(source_root, "numbacnn")),
          f"numbacnn imported from {where}: this environment's site-packages, not the "
          f"source tree {source_root}")
    dist = importlib.metadata.distribution("numbacnn")
    origin = json.loads(dist.read_text("direct_url.json") or "{}")
    check(origin.get("url", "").endswith(".whl") and "dir_info" not in origin,
          f"installed from a wheel file, not editable ({origin.get('url')})")
    return dist


def metadata(dist):
    import numbacnn

    meta = dist.metadata
    check(dist.version == numbacnn.__version__,
          f"metadata version {dist.version} is numbacnn.__version__ {numbacnn.__version__}")
    check(meta["License-Expression"] == "BSD-3-Clause", "License-Expression: BSD-3-Clause")
    urls = {u.split(",")[0] for u in meta.get_all("Project-URL") or []}
    check({"Source", "Documentation", "Issues", "Lecture"} <= urls, f"Project-URLs {sorted(urls)}")
    files = {str(f).replace(os.sep, "/") for f in dist.files or []}
    for name in ("LICENSE", "MNIST-LICENSE.txt"):
        check(any("dist-info/licenses/" in f and f.endswith("/" + name) for f in files),
              f"licence file {name} in the wheel's .dist-info/licenses")


def bundled_mnist_trains():
    from importlib.resources import files

    import numpy as np

    from numbacnn import Sequential
    from numbacnn.datasets import load_mnist
    from numbacnn.layers import Conv2D, Dense, Flatten, MaxPool2D

    data = files("numbacnn.datasets") / "data"
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "MNIST-LICENSE.txt"):
        check((data / name).is_file(), f"package data {name}")
    X, y = load_mnist()
    check(X.shape == (10000, 1, 28, 28) and X.dtype == np.float32,
          f"bundled MNIST: {X.shape} {X.dtype}")
    check(sorted(set(y.tolist())) == list(range(10)), "bundled MNIST: labels 0-9")
    model = Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(),
                        Dense(10, activation="softmax")], seed=0)
    model.build(X.shape[1:], dtype=X.dtype)
    before = model.evaluate(X[300:600], y[300:600])["loss"]
    history = model.fit(X[:300], y[:300], epochs=1, batch_size=32, verbose=0)
    after = model.evaluate(X[300:600], y[300:600])["loss"]
    check(len(history.epoch) == 1 and after < before,
          f"one epoch on 300 images: held-out loss {before:.3f} -> {after:.3f}")


def command_line():
    import numbacnn

    run = subprocess.run([sys.executable, "-m", "numbacnn", "--help"],
                         capture_output=True, text=True, timeout=120)
    check(run.returncode == 0 and "train" in run.stdout, "python -m numbacnn --help")
    script = os.path.join(os.path.dirname(sys.executable), "numbacnn")
    run = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=120)
    check(run.stdout.strip() == f"numbacnn {numbacnn.__version__}", "numbacnn --version")


def main(source_root):
    dist = installed_from_a_wheel(source_root)
    if FAILURES:  # the checks below would test some other copy of numbacnn
        print("not the installed wheel: nothing else checked", file=sys.stderr)
        return 1
    metadata(dist)
    bundled_mnist_trains()
    command_line()
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} SOURCE_ROOT")
    sys.exit(main(sys.argv[1]))
