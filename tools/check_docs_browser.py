"""Check the built documentation in a real browser, with the network off.

Usage::

    python tools/check_docs_browser.py [BUILD_DIR] [--page theory/convolution.html ...]

1. Every HTML file of the build is scanned: no ``<script src=...>`` (and no
   stylesheet) may point outside the site (``http://``, ``https://`` or ``//``).
2. Each checked page is served from BUILD_DIR on 127.0.0.1 by a throw-away HTTP
   server (web fonts do not load from ``file://`` URLs) and opened in headless
   Debian Chromium whose network is cut: every host name resolves to nothing,
   every proxied request goes to a closed port, background networking is off.
3. The DOM after MathJax ran (``--dump-dom`` with a virtual time budget) must
   hold one MathJax rendering per equation of the page, no MathJax error, and no
   raw TeX delimiters (``\\(``, ``\\[``, ``$$``) in the visible text.
4. A screenshot of each page is saved (default ``docs/_build/browser/``) so a
   person can look at it.

Exit status 0 when every check passes, 1 otherwise.  Chromium is installed by
``tools/ensure-chromium.sh``.
"""

import argparse
import contextlib
import functools
import html
import http.server
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

DEFAULT_PAGES = [
    # the front page has no equation of its own, but its navigation shows
    # notebook titles with math, which must be typeset too
    "index.html",
    "theory/convolution.html",
    "theory/conv-backprop.html",
    "theory/rnn.html",
    "theory/lstm.html",
]

# flags from the machine documentation: headless, no sandbox (we run as root in
# CI), and nothing that phones home
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    # cut the network: every name resolves to nothing (except our loopback
    # server, addressed by IP), every proxied request goes to a closed port
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]

EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
LINK_HREF = re.compile(r"<link\b([^>]*)>", re.IGNORECASE)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def external_assets(build):
    """(file, url) for every script or stylesheet loaded from outside the site."""
    bad = []
    for page in sorted(build.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for src in SCRIPT_SRC.findall(text):
            if EXTERNAL.match(src):
                bad.append((page.relative_to(build), src))
        for attrs in LINK_HREF.findall(text):
            if re.search(r"rel\s*=\s*[\"']?stylesheet", attrs, re.IGNORECASE):
                m = re.search(r"href\s*=\s*[\"']([^\"']+)", attrs, re.IGNORECASE)
                if m and EXTERNAL.match(m.group(1)):
                    bad.append((page.relative_to(build), m.group(1)))
    return bad


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory):
    """Serve ``directory`` on 127.0.0.1 (a free port) for the duration."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_chromium(chromium, url, extra, budget_ms, timeout):
    with tempfile.TemporaryDirectory(prefix="numbacnn-chromium-") as profile:
        cmd = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            *extra,
            url,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=profile)


def visible_text(dom):
    """The text a reader sees: no scripts, styles or tags, entities decoded."""
    dom = re.sub(r"<script\b.*?</script>", " ", dom, flags=re.DOTALL | re.IGNORECASE)
    dom = re.sub(r"<style\b.*?</style>", " ", dom, flags=re.DOTALL | re.IGNORECASE)
    # code listings legitimately show LaTeX in docstrings; they are not math
    dom = re.sub(r"<pre\b.*?</pre>", " ", dom, flags=re.DOTALL | re.IGNORECASE)
    dom = re.sub(r"<[^>]+>", " ", dom)
    return html.unescape(dom)


def count_math(source_html):
    """Equations Sphinx wrote into the page (inline spans + display blocks)."""
    return len(re.findall(r'class="math notranslate nohighlight"', source_html))


def check_page(chromium, base_url, build, page, shots, budget_ms):
    problems = []
    source = (build / page).read_text(encoding="utf-8")
    expected = count_math(source)
    url = f"{base_url}/{page}"
    # docs/conf.py sets data-mathjax-done on <html> when MathJax has finished its
    # first pass; on a loaded machine the time budget may run out before that, so
    # try again with more time rather than judge a half-typeset page
    for attempt in range(3):
        dom_run = run_chromium(chromium, url, ["--dump-dom"], budget_ms * 2**attempt, 240)
        dom = dom_run.stdout
        if dom_run.returncode != 0 or "<html" not in dom.lower():
            return [f"{page}: chromium failed (exit {dom_run.returncode}): "
                    f"{dom_run.stderr[-2000:]}"]
        if 'data-mathjax-done="1"' in dom:
            break
    else:
        problems.append(f"{page}: MathJax did not finish (no data-mathjax-done marker)")

    # class "MathJax", plus "MathJax_FullWidth" for a display that was line-broken
    rendered = len(re.findall(
        r'<span class="MathJax(?: [^"]*)?"[^>]*id="MathJax-Element-\d+-Frame"', dom))
    tex_scripts = len(re.findall(r'<script type="math/tex', dom))
    errors = len(re.findall(r'class="(?:MathJax_Error|merror)"|Math Processing Error', dom))
    text = visible_text(dom)
    raw = [tok for tok in ("\\(", "\\)", "\\[", "\\]", "$$") if tok in text]

    print(f"  {page}: {expected} equations in the page, {tex_scripts} handed to MathJax, "
          f"{rendered} typeset, {errors} MathJax errors, raw TeX delimiters left: {raw or 'none'}")
    if expected == 0:
        problems.append(f"{page}: the page has no equations, nothing to check; pick another")
    if rendered < expected or tex_scripts < expected:
        problems.append(f"{page}: only {rendered} of {expected} equations were typeset")
    if errors:
        problems.append(f"{page}: {errors} MathJax errors (bad TeX?)")
    if raw:
        idx = text.find(raw[0])
        problems.append(f"{page}: raw TeX left in the text: ...{text[max(0, idx - 80):idx + 80]!r}")

    shot = shots / (page.replace("/", "_").removesuffix(".html") + ".png")
    shot_run = run_chromium(
        chromium, url, [f"--screenshot={shot}", "--window-size=1280,2000"],
        budget_ms * 2**attempt, 240,
    )
    if shot_run.returncode != 0 or not shot.is_file() or shot.stat().st_size < 10_000:
        problems.append(f"{page}: no screenshot ({shot_run.stderr[-1000:]})")
    else:
        print(f"  screenshot: {shot}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build", nargs="?", default="docs/_build/html", type=Path)
    parser.add_argument("--page", action="append", dest="pages",
                        help="page to open, relative to BUILD (repeatable)")
    parser.add_argument("--screenshots", type=Path, default=None,
                        help="where to save screenshots (default: BUILD/../browser)")
    parser.add_argument("--budget-ms", type=int, default=30000,
                        help="virtual time Chromium gives the page before dumping it")
    args = parser.parse_args(argv)

    build = args.build.resolve()
    if not (build / "index.html").is_file():
        print(f"no built site in {build}; run sphinx-build first", file=sys.stderr)
        return 1
    problems = []

    bad = external_assets(build)
    for page, url in bad:
        problems.append(f"{page}: loads {url} from the internet")
    print(f"external scripts/stylesheets in {sum(1 for _ in build.rglob('*.html'))} "
          f"HTML files: {len(bad)}")
    mathjax = build / "_static" / "mathjax" / "MathJax.js"
    if not mathjax.is_file():
        problems.append(f"bundled MathJax missing: {mathjax}")

    chromium = find_chromium()
    if chromium is None:
        problems.append("chromium not found; run tools/ensure-chromium.sh")
    else:
        shots = (args.screenshots or build.parent / "browser").resolve()
        shots.mkdir(parents=True, exist_ok=True)
        # the throw-away server must not be reachable from other hosts
        assert socket.gethostbyname("127.0.0.1") == "127.0.0.1"
        with serve(build) as base_url:
            for page in args.pages or DEFAULT_PAGES:
                if not (build / page).is_file():
                    problems.append(f"{page}: not in the build")
                    continue
                problems += check_page(chromium, base_url, build, page, shots, args.budget_ms)

    for p in problems:
        print("FAIL:", p, file=sys.stderr)
    print("browser check:", "failed" if problems else "passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
