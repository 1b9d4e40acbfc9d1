"""Sphinx configuration for the numbacnn documentation.

Three things here are unusual and deliberate:

* MathJax is bundled.  The MathJax 2 files shipped by the PyPI package
  ``jupyter-server-mathjax`` are copied into ``_static/mathjax`` of the HTML
  build, and ``mathjax_path`` points there, so the built site loads no script
  from the internet (``tools/check_docs_browser.py`` checks this).
* The notebooks live in ``notebooks/`` at the repository root: each is a
  percent-format ``.py`` source paired with an ``.ipynb`` stored without
  outputs.  Only the ``.ipynb`` are copied into ``docs/notebooks/`` (ignored by
  git) at configuration time and executed by myst-nb during the build, in fast
  mode (``NUMBACNN_FAST=1`` is set by the ``docs`` tox env); the ``.py`` never
  reach the source tree, so no page is built twice.
* The API reference lists every name in the ``__all__`` of each public module.
  ``docs/api/reference.rst`` is written here from those lists (ignored by git),
  so a new public function cannot be left out of the docs.
"""

import doctest
import importlib
import importlib.util
import inspect
import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

project = "numbacnn"
author = "the numbacnn developers"
copyright = "numbacnn developers; mathematics after the week-45 CNN/RNN lecture"

try:
    import numbacnn

    release = numbacnn.__version__
except Exception:  # pragma: no cover - the build reports the import error later
    release = "0.1.0"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
    "matplotlib.sphinxext.plot_directive",
    # exercises at the end of each theory page; their solutions sit in <details> blocks
    "sphinx_exercise",
]

exclude_patterns = ["_build", "_generated", "_autogen", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["numbacnn.css"]
html_theme = "furo"
html_title = "numbacnn"
# no web fonts, no CDN: everything the pages need is in _static
html_theme_options = {"navigation_with_keys": True}

# ---------------------------------------------------------------- math --------
_MATHJAX_DIR = "mathjax"


def _mathjax_source():
    """Directory with MathJax.js from the jupyter-server-mathjax package."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the docs bundle MathJax from the PyPI package 'jupyter-server-mathjax'; "
            "install the 'docs' extra (pip install -e .[docs])"
        )
    static = Path(list(spec.submodule_search_locations)[0]) / "static"
    if not (static / "MathJax.js").is_file():
        raise RuntimeError(f"jupyter-server-mathjax has no MathJax.js in {static}")
    return static


# relative paths are relative to _static of the built site
mathjax_path = f"{_MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
        "processClass": "math|output_area",
        "ignoreClass": "tex2jax_ignore|mathjax_ignore|document",
    },
    # jupyter-server-mathjax ships the STIX web fonts only
    "HTML-CSS": {
        "availableFonts": [],
        "webFont": "STIX-Web",
        "imageFont": None,
        "preferredFont": None,
        "linebreaks": {"automatic": True},
    },
    "TeX": {"equationNumbers": {"autoNumber": "none"}},
    "messageStyle": "none",
    "menuSettings": {"zoom": "None"},
}
math_number_all = False
math_eqref_format = "({number})"
math_numfig = False
numfig = False

# ---------------------------------------------------------------- API ---------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_use_plots = False

# The public modules and the page title of each, in reading order.  A module
# that cannot be imported yet is left out of the reference (the build says so).
PUBLIC_MODULES = [
    ("numbacnn.signal", "Convolution of signals and images"),
    ("numbacnn.functional", "Functional forward/backward pairs"),
    ("numbacnn.activations", "Activation functions"),
    ("numbacnn.losses", "Loss functions"),
    ("numbacnn.optimizers", "Optimizers"),
    ("numbacnn.layers", "Layers"),
    ("numbacnn.models", "Models"),
    ("numbacnn.models.inputs", "Models: inputs and image layout"),
    ("numbacnn.models.tasks", "Models: tasks"),
    ("numbacnn.models.training", "Models: the training loop"),
    ("numbacnn.models.persistence", "Models: saving and loading"),
    ("numbacnn.architectures", "Model architectures"),
    ("numbacnn.callbacks", "Callbacks"),
    ("numbacnn.sklearn", "scikit-learn estimators"),
    ("numbacnn.interop", "PyTorch interop"),
    ("numbacnn.datasets", "Datasets"),
    ("numbacnn._gradcheck", "Gradient checking"),
    ("numbacnn.testing", "Checkers for your own kernels"),
    ("numbacnn.experiments", "Experiments"),
    ("numbacnn.kernels.conv", "Kernels: convolution, reference loops"),
    ("numbacnn.kernels.conv_gemm", "Kernels: convolution, patch-matrix products chunk by chunk"),
    ("numbacnn.kernels.im2col", "Kernels: convolution as a matrix product (im2col)"),
    ("numbacnn.kernels.conv_grad_weight", "Kernels: convolution, direct weight and bias gradients"),
    ("numbacnn.kernels.correlate", "Kernels: correlation of signals"),
    ("numbacnn.kernels.pool", "Kernels: pooling"),
    ("numbacnn.kernels.rnn", "Kernels: simple RNN"),
    ("numbacnn.kernels.lstm", "Kernels: LSTM"),
    ("numbacnn.kernels.gru", "Kernels: GRU"),
    ("numbacnn.kernels.optim", "Kernels: optimizer updates"),
    ("numbacnn.kernels._math", "Kernels: math shared by the recurrent kernels"),
]


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        # no __all__: what the module defines, or (a package) re-exports from its
        # own submodules; never the submodules themselves
        prefix = module.__name__
        names = [
            n
            for n, obj in vars(module).items()
            if not n.startswith("_") and not inspect.ismodule(obj)
            and (getattr(obj, "__module__", None) or "").startswith(prefix)
        ]
    return sorted(names)


_API_ERRORS = []


def _report_api_errors(app):
    from sphinx.util import logging

    for err in _API_ERRORS:
        logging.getLogger("numbacnn.docs").warning(f"public module fails to import: {err}")


def _write_api_reference():
    """Write api/reference.rst: one autosummary table per public module."""
    lines = [
        ".. This file is generated by docs/conf.py from the modules' __all__; do not edit.",
        "",
        "Reference",
        "=========",
        "",
        "Every public name of numbacnn, module by module (the lists are read from each",
        "module's ``__all__`` when the documentation is built).",
        "",
    ]
    missing = []
    documented = set()  # full names that get a stub page
    # names exported by the package itself (numbacnn.Sequential, numbacnn.gradcheck, ...)
    # are documented under those names, and not again under their defining module
    top_level = set()
    try:
        import numbacnn

        top_level = {
            n for n in numbacnn.__all__
            if not n.startswith("_") and not inspect.ismodule(getattr(numbacnn, n, None))
        }
    except Exception as exc:
        _API_ERRORS.append(f"numbacnn: {exc!r}")
    if top_level:
        heading = "Top-level names (``numbacnn``)"
        lines += [heading, "-" * len(heading), "", ".. currentmodule:: numbacnn", "",
                  ".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
        lines += [f"   {n}" for n in sorted(top_level)]
        lines.append("")
        documented.update(f"numbacnn.{n}" for n in top_level)
    for modname, title in PUBLIC_MODULES:
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                _API_ERRORS.append(f"{modname}: {exc!r}")
            missing.append(modname)
            continue
        except Exception as exc:  # a broken public module must fail the build
            _API_ERRORS.append(f"{modname}: {exc!r}")
            continue
        names = [
            n for n in _public_names(module)
            if not n.startswith("_")
            and not (n in top_level and getattr(numbacnn, n, None) is getattr(module, n, None))
        ]
        heading = f"{title} (``{modname}``)"
        lines += [heading, "-" * len(heading), ""]
        lines += [f".. automodule:: {modname}", "   :no-members:", ""]
        if not names:
            continue
        lines += [f".. currentmodule:: {modname}", "", ".. autosummary::",
                  "   :toctree: generated", "   :nosignatures:", ""]
        lines += [f"   {n}" for n in names]
        lines.append("")
        documented.update(f"{modname}.{n}" for n in names)
    if missing:
        print("numbacnn docs: API reference leaves out modules that do not exist yet: "
              + ", ".join(missing))
    # stubs of names that left __all__ would linger (and warn); the others are
    # kept, so that autosummary rewrites nothing and Sphinx re-reads nothing
    stubs = DOCS / "api" / "generated"
    if stubs.is_dir():
        for stub in stubs.glob("*.rst"):
            if stub.stem not in documented:
                stub.unlink()
    text = "\n".join(lines) + "\n"
    target = DOCS / "api" / "reference.rst"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


# ---------------------------------------------------------------- notebooks ---
nb_execution_mode = os.environ.get("NUMBACNN_DOCS_NB_EXECUTION", "auto")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_ipywidgets_js = {}  # never pull require.js / widget managers from a CDN
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_update_mathjax = False
# misc.highlighting_failure: the exercise templates (notebooks 09-11) end in the checker's
# AssertionError on purpose; its text ("... still the blank template? ...") is not a
# traceback Pygments' ipythontb lexer can parse, and Sphinx falls back to plain text
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]
source_suffix = {".rst": "restructuredtext", ".ipynb": "myst-nb"}

# The tox envs set MPLBACKEND=Agg for the tests.  Notebook kernels inherit this
# process's environment, and with Agg forced plt.show() draws nothing into the
# notebook (the page would say "<Figure size ...>" instead of showing it).
# Without the variable, kernels use the inline backend, and this process, which
# has no display, falls back to Agg by itself.
if os.environ.get("MPLBACKEND", "").lower() == "agg":
    del os.environ["MPLBACKEND"]

NOTEBOOKS_SRC = ROOT / "notebooks"
NOTEBOOKS_DST = DOCS / "notebooks"


def _sync_notebooks():
    """Copy notebooks/*.ipynb (not their paired .py) into docs/notebooks/, ignored by git."""
    NOTEBOOKS_DST.mkdir(exist_ok=True)
    wanted = {p.name: p for p in sorted(NOTEBOOKS_SRC.glob("*.ipynb"))}
    for old in NOTEBOOKS_DST.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name, src in wanted.items():
        dst = NOTEBOOKS_DST / name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
    return sorted(wanted)


def _write_notebook_toctree(names):
    """docs/notebooks/toctree.rst.inc, included by notebooks.rst (a tracked dependency)."""
    if names:
        text = ".. toctree::\n   :maxdepth: 1\n\n" + "".join(
            f"   notebooks/{Path(n).stem}\n" for n in names
        )
    else:
        text = (
            ".. note::\n\n   No notebook has been added to ``notebooks/`` yet; this page "
            "lists them once they exist.\n"
        )
    target = NOTEBOOKS_DST / "toctree.rst.inc"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def _copy_mathjax(app):
    if app.builder.format != "html":
        return
    dst = Path(app.outdir) / "_static" / _MATHJAX_DIR
    src = _mathjax_source()
    if not (dst / "MathJax.js").is_file():
        shutil.copytree(src, dst, dirs_exist_ok=True)


# ---------------------------------------------------------------- figures -----
# Diagrams drawn by scripts in docs/figures/ at build time (``.. plot:: figures/x.py``,
# a path relative to docs/):
# one PNG each, no links to other formats; the scripts import numbacnn from ROOT.
plot_formats = [("png", 110)]
plot_html_show_formats = False
plot_html_show_source_link = True
plot_rcparams = {"savefig.bbox": "tight"}

AUTOGEN = DOCS / "_autogen"
_FIGURE_SOURCES = [
    "numbacnn/experiments/sequences.py",
    "numbacnn/functional/rnn.py",
    "numbacnn/functional/lstm.py",
    "numbacnn/kernels/rnn.py",
    "numbacnn/kernels/lstm.py",
]


def _vanishing_gradients_figure():
    """Run the vanishing-gradient experiment (fast mode) and write its figure.

    The figure on the RNN page is produced by the build itself, from the code
    it documents; it is re-made when one of the sources above is newer.
    """
    AUTOGEN.mkdir(exist_ok=True)
    png = AUTOGEN / "vanishing_gradients.png"
    inc = AUTOGEN / "vanishing_gradients.rst.inc"
    newest = max((ROOT / f).stat().st_mtime for f in _FIGURE_SOURCES if (ROOT / f).exists())
    if png.exists() and inc.exists() and png.stat().st_mtime >= newest:
        return
    try:
        from numbacnn.experiments import vanishing_gradients

        result = vanishing_gradients(fast=True)
        result.figures["gradient_norms"].savefig(png, dpi=110)
    except Exception as exc:  # the page must not silently lose its figure
        _API_ERRORS.append(f"numbacnn.experiments.vanishing_gradients: {exc!r}")
        inc.write_text("")
        return
    caption = (
        f"{result.title} (fast mode, T = {result.settings['T']} steps, "
        f"H = {result.settings['H']} hidden units).  "
        "Generated during the documentation build by "
        "``numbacnn.experiments.vanishing_gradients(fast=True)``."
    )
    notes = "\n".join(f"   {line}" for line in result.notes)
    inc.write_text(
        ".. figure:: /_autogen/vanishing_gradients.png\n"
        "   :width: 100%\n"
        "   :alt: gradient norm against lag, RNN and LSTM\n\n"
        f"   {caption}\n\n"
        + notes + "\n"
    )


# ---------------------------------------------------------------- results -----
GENERATED = DOCS / "_generated"
# the experiments in the order of numbacnn.experiments.EXPERIMENTS (the lecture's order),
# then the speed table of lab/speed_table.py
_EXPERIMENT_ORDER = [
    "digits_grid_search", "lecture_cnn_mnist", "small_cnn_mnist", "fashion_mnist",
    "noisy_sine", "oscillator", "vanishing_gradients", "cifar10", "speed_table",
]


def _md_include(path, start_line=0):
    rel = path.relative_to(DOCS).as_posix()
    opt = f"   :start-line: {start_line}\n" if start_line else ""
    return f".. include:: /{rel}\n   :parser: myst_parser.sphinx_\n{opt}\n"


def _write_results_include():
    """_autogen/results.rst.inc: the committed result files, in a fixed order.

    The Markdown tables and PNG figures in docs/_generated/ are written by
    lab/run_experiments.py and lab/run_benchmarks.py (slow, run on a quiet
    machine and committed); the build only lays them out, so it never needs
    torch or a long training run.
    """
    AUTOGEN.mkdir(exist_ok=True)
    exp = GENERATED / "experiments"
    bench = GENERATED / "benchmarks"
    parts = []

    def missing(what, command):
        return (
            ".. warning::\n\n"
            f"   No {what} have been generated yet.  Run ``{command}`` and commit "
            "the files it writes.\n\n"
        )

    parts.append("Summary\n-------\n\n")
    if (exp / "summary.md").exists():
        parts.append(_md_include(exp / "summary.md"))
    else:
        parts.append(missing("experiment results", "python lab/run_experiments.py"))
    names = [n for n in _EXPERIMENT_ORDER if (exp / f"{n}.md").exists()]
    names += sorted(
        p.stem for p in exp.glob("*.md")
        if p.stem not in names and p.stem not in ("summary", "run_info")
        and not p.stem.startswith("summary-")
    )
    for name in names:
        md = exp / f"{name}.md"
        lines = md.read_text(encoding="utf-8").splitlines()
        title, skip = name, 0
        if lines and lines[0].startswith("#"):
            # the file's own heading becomes the section title of this page
            title, skip = lines[0].lstrip("#").strip(), 1
        parts.append(f".. _experiment-{name}:\n\n")
        parts.append(f"{title}\n" + "-" * len(title) + "\n\n")
        parts.append(_md_include(md, skip))
        if (exp / f"{name}.csv").exists():
            parts.append(f"Data: :download:`{name}.csv </_generated/experiments/{name}.csv>`.\n\n")
    figures = sorted(exp.glob("*.png"))
    if figures:
        parts.append("Figures\n-------\n\n")
        for png in figures:
            rel = png.relative_to(DOCS).as_posix()
            parts.append(
                f".. figure:: /{rel}\n   :width: 100%\n   :alt: {png.stem}\n\n"
                f"   ``{png.name}``\n\n"
            )
    parts.append("Benchmarks\n----------\n\n")
    # lab/run_benchmarks.py writes benchmarks/NAME.md; a script run by hand with
    # --out docs/_generated/NAME.md is picked up as well
    tables = sorted(bench.glob("*.md")) + sorted(GENERATED.glob("bench_*.md"))
    if tables:
        for md in tables:
            lines = md.read_text(encoding="utf-8").splitlines()
            title, skip = f"``{md.stem}``", 0
            if lines and lines[0].startswith("#"):
                title, skip = lines[0].lstrip("#").strip(), 1
            parts.append(f"{title}\n" + "~" * len(title) + "\n\n")
            parts.append(_md_include(md, skip))
    else:
        parts.append(missing("benchmark tables", "python lab/run_benchmarks.py"))
    if (exp / "run_info.md").exists():
        parts.append("Where and how the numbers were measured\n"
                     "---------------------------------------\n\n")
        # its "## Run of ..." headings would clash with this page's levels
        runs = (exp / "run_info.md").read_text(encoding="utf-8")
        runs = "\n".join(
            f"**{line.lstrip('#').strip()}**" if line.startswith("#") else line
            for line in runs.splitlines()
        )
        copy = AUTOGEN / "run_info.md"
        if not copy.exists() or copy.read_text(encoding="utf-8") != runs + "\n":
            copy.write_text(runs + "\n", encoding="utf-8")
        parts.append(_md_include(copy))
    text = "".join(parts)
    target = AUTOGEN / "results.rst.inc"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


# ---------------------------------------------------------------- doctest -----
# no global setup: docstring examples (numpydoc "Examples" sections rendered by
# autodoc are doctest blocks too) must run exactly as a reader would type them
doctest_default_flags = (
    doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL
)

# ---------------------------------------------------------------- misc --------
nitpicky = False
pygments_style = "sphinx"
pygments_dark_style = "monokai"

_write_notebook_toctree(_sync_notebooks())
_write_api_reference()
_vanishing_gradients_figure()
_write_results_include()


# MathJax runs every text/x-mathjax-config block before it starts; this one marks
# the page when the first typesetting pass is over, so a browser check can wait
# for it instead of guessing a time (tools/check_docs_browser.py).
_MATHJAX_DONE_MARKER = (
    'MathJax.Hub.Register.StartupHook("End", function () {'
    ' document.documentElement.setAttribute("data-mathjax-done", "1"); });'
)


def setup(app):
    _mathjax_source()  # fail early and clearly when the package is missing
    app.add_js_file(None, type="text/x-mathjax-config", body=_MATHJAX_DONE_MARKER)
    # MathJax on every page, not only on pages with equations: the navigation
    # shows titles with math (notebook titles) on all of them
    app.set_html_assets_policy("always")
    app.connect("builder-inited", _copy_mathjax)
    app.connect("builder-inited", _report_api_errors)
