"""docs/errata.rst against the lecture: every cited line holds what the page quotes.

The page (and the two other pages that cite lines, ``OTHER_PAGES``) cites the
lecture's DocOnce source by line number.  ``CITED`` maps each citation (a line,
or a range ``a--b``) to snippets that must occur on that line or within that
range; a citation on a page that is missing here fails
``test_every_citation_on_the_page_is_checked``, so no line number goes unchecked.
The lecture itself is not part of the repository: the tests that read it look for
it in the environment variable ``NUMBACNN_LECTURE`` (or the shared reference
directory of the development machine) and are skipped without it.
"""

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

from numbacnn import activations as A

ROOT = Path(__file__).resolve().parents[1]
ERRATA = ROOT / "docs" / "errata.rst"
OTHER_PAGES = [ROOT / "docs" / "lecture-examples.rst",
               ROOT / "docs" / "theory" / "learning-rnns.rst"]
_CANDIDATES = [
    os.environ.get("NUMBACNN_LECTURE", ""),
    "/work/shared/reference/week45-cnn-rnn-lecture.do.txt",
]

#: citation on the page -> text that must appear on that line / inside that range
CITED = {
    "53": ["loss function (for example Softmax)"],
    "228": ["n_{pixels, width},\\, n_{pixels, height}"],
    "236": ["28 \\times 28 = 724"],
    "463": ["The CIFAR01 data set"],
    "971": ["\\sum_{m=0}^{n-1} f(m) g(n-m)"],
    "976": ["slide an $m \\times n$ matrix $g$ over an $m \\times n$"],
    "984": ["(f \\ast g)(i, j)\\sum_{m=0}^{M-1}"],
    "1096--1097": ["\\rfloor \\cdot 2", "kernel width"],
    "1141--1142": ["r = (kernel.shape[0] // 2) * 2", "c = (kernel.shape[1] // 2) * 2"],
    "1536--1537": ["(self.kernel_height // 2) * 2", "(self.kernel_width // 2) * 2"],
    "3065": ["kernel height of 2 and a width of 2"],
    "3046--3052": ["kernel_height=3", "kernel_width=3"],
    "3331--3333": ["cut the computational expense", "half"],
    "3666--3669": ["v_{i_1}", "y_{i}=h_i(x_i,h_{i-1})"],
    "3766": ["U * \\mathbf{x}^{(t)} + W * \\mathbf{h}^{(t-1)}"],
    "3936": ["W_f\\mathbf{x}^{(t)} + U_f\\mathbf{h}^{(t-1)}"],
    "3832": ["\\nabla_{\\mathbf{w}^{(t)}} h_i^{(t)}"],
    "3858": ["The function $g$ can any of"],
    "3879--3880": ["lstm-vs-gru-experimental-comparison-955820c21e8b\"\nand URL"],
    "1161--1186": ["def convolve(original_image, padded_image, kernel",
                   "m = kernel.shape[0] // 2", "padded_image[i : i + m, j : j + n]"],
    "1188": ["def convolve(image, kernel, stride=1):"],
    "1193": ["k_half_width = kernel.shape[0] // 2"],
    "3248": ["k_half_width = kernel.shape[0] // 2"],
    "1195--1200": ["conv_image = np.zeros(image.shape)", ", stride):"],
    "3250--3255": ["conv_image = np.zeros(image.shape)", ", stride):"],
    "1195": ["conv_image = np.zeros(image.shape)"],
    "1202": ["i - k_half_height : i + k_half_height + 1"],
    "1403--1410": ["output = np.ndarray(", "strided_height,", "strided_width,"],
    "1424": ["for h in range(0, X_batch.shape[height_index], self.v_stride):"],
    "1420--1437": ["for chin in range(self.input_channels):",
                   "output[img, fmap, out_h, out_w] = np.sum("],
    "2251--2277": ["windows = self._extract_windows(X_batch)", "(windows @ kernel)"],
    "1444": ["output / (self.kernel_height)"],
    "2281": ["output / (self.kernel_height * X_batch.shape[feature_maps_index])"],
    "1399--1400": ["np.ceil(X_batch.shape[height_index] / self.v_stride)"],
    "1424--1426": ["range(0, X_batch.shape[height_index], self.v_stride)"],
    "1454--1457": ["delta_term_next = act_derivative(delta_term_next)"],
    "2287--2288": ["delta_term_next = act_derivative(delta_term_next)"],
    "942--944": ["valued_at_z = act_func_derivative(a)", "valued at z"],
    "1491--1504": ["for fmap in range(self.feature_maps):",
                   "delta_term[img, chin, h, w] = np.sum("],
    "1508--1525": ["for k_x in range(self.kernel_height):",
                   "gradient_kernel[chin, fmap, k_x, k_y] = np.sum(", "img,\n", "h : h +"],
    "1527": ["self.kernel -= gradient_kernel"],
    "2362": ["self.kernel -= gradient_kernel"],
    "1753--1761": ["strided_width = strided_height"],
    "1848--1856": ["strided_width = strided_height"],
    "1802--1829": ["for h in range(0, delta_term_next.shape[height_index], self.v_stride):",
                   "(h + max_h)", "delta_term_next[img, fmap, h, w]"],
    "1832--1842": ["if self.pooling == \"average\":", "] = (",
                   "delta_term_next[img, fmap, h, w]"],
    "1873--1878": ["self.X_batch_feedforward.input.shape"],
    "1895": ["def __init__(self, act_func=LRELU, seed=None):"],
    "1920--1926": ["activation_derivative = derivate(self.act_func)",
                   "activation_derivative(self.z_matrix)"],
    "1912--1915": ["bias = np.ones((X_batch.shape[input_index], 1)) * 0.01"],
    "1989--1992": ["bias = np.ones((X_batch.shape[input_index], 1)) * 0.01"],
    "2024--2026": ["for the bias gradient we do not multiply by previous a",
                   "gradient_bias = np.mean(delta_term, axis=input_index)"],
    "2129--2131": ["for the bias gradient we do not multiply by previous a",
                   "gradient_bias = np.mean(delta_term, axis=input_index)"],
    "2102--2110": ["delta_term = self.a_matrix - target"],
    "2169--2176": ["__name__ == \"identity\"", "self.pred_format = \"Multi-class\""],
    "2171": ["self.act_func.__name__ is None"],
    "839": ["-(1.0 / target.size) * np.sum(target * np.log(X + 10e-10))"],
    "2105": ["delta_term = self.a_matrix - target"],
    "2128": ["gradient_weights = np.mean(gradient_weights, axis=input_index)"],
    "2873--2881": ["pred_train = self.predict(X)", "train_error = cost_function_train(pred_train)",
                   "val_error = cost_function_val(pred_val)"],
    "2952--2958": ["class_prediction[i, np.argmax(prediction[i, :])] = 1"],
    "3290--3320": ["def conv2DSep(", "ker1 = np.array(kernel[0, :])",
                   "ker2 = np.array(kernel[:, 0])", "@ ker1", "@ ker2.T"],
    "3305": ["(image.shape[0] - kernel.shape[0], image.shape[1] - kernel.shape[1])"],
    "3346--3352": ["np.fft.fft2(sobel_kernel, s=image_of_cute_dog.shape)"],
    "691--699": ["self.G_t += gradient @ gradient.T", "np.diagonal(self.G_t)"],
    "715--723": ["self.G_t += gradient @ gradient.T", "np.diagonal(self.G_t)"],
    "750--768": ["self.n_epochs = 1", "1 - self.rho**self.n_epochs", "self.n_epochs += 1",
                 "self.moment = 0"],
    "2750--2753": ["reset schedulers for each epoch", "layer._reset_scheduler()"],
    "788--792": ["for e in range(epochs):", "adam_scheduler.update_change(gradient)",
                 "adam_scheduler.reset()"],
    "737--739": ["np.sqrt(self.second + delta)"],
    "755--763": ["np.sqrt(second_corrected + delta)"],
    "3517--3521": ["np.reshape(trainX, (trainX.shape[0], 1, trainX.shape[1]))",
                   "input_shape=(1,step)"],
    "3511--3513": ["np.repeat(test[-1,],step)", "np.repeat(train[-1,],step)"],
    "996--1084": ["$6 \\times 6$", "5 & 5.78 & 7 & 6.44", "4.44 & 4.78 & 5.56 & 4"],
    "1210--1213": ["cross-correlation"],
    # docs/lecture-examples.rst
    "297--456": ["datasets.load_digits()", "layers.Conv2D(n_filters, (receptive_field",
                 "eta_vals = np.logspace(-5, 1, 7)", "sns.heatmap(test_accuracy"],
    "463--580": ["The CIFAR01 data set", "layers.Conv2D(32, (3, 3)",
                 "from_logits=True", "epochs=10"],
    "3474--3537": ["np.sin(0.02*t)+2*np.random.rand(N)", "SimpleRNN(units=32",
                   "optimizer='rmsprop'", "epochs=100, batch_size=16"],
    # docs/theory/learning-rnns.rst
    "3745--3755": ["exploding or vanishing gradients", "initializing the weights very carefully",
                   "long-range dependencies"],
    "3865--3870": ["Four effective ways to learn an RNN", "Long Short Term Memory",
                   "Hessian Free Optimization", "Echo State Networks",
                   "Good initialization with momentum"],
}

_CELL = re.compile(r"^   \* - ([0-9][0-9 ,\-vs]*)$", re.M)
_INLINE = re.compile(r"\blines? ([0-9]+(?:--[0-9]+)?(?:,\s+[0-9]+(?:--[0-9]+)?)*)")


def page_citations(text, cells=True):
    """Every single line or range a page cites, in the table cells and in its prose."""
    groups = (_CELL.findall(text) if cells else []) + _INLINE.findall(text)
    found = set()
    for group in groups:
        for part in re.split(r",\s*|\s+vs\s+", group.strip()):
            found.add(part.strip())
    return found


def _lecture_path():
    for candidate in _CANDIDATES:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="module")
def lecture_lines():
    path = _lecture_path()
    if path is None:
        pytest.skip("the lecture source is not here; set NUMBACNN_LECTURE to its path")
    return path.read_text(encoding="utf-8").split("\n")


def _span(citation):
    first, _, last = citation.partition("--")
    return int(first), int(last or first)


def test_page_citations_are_found_by_the_parser():
    # the parser must see both kinds of citation, or the next test passes vacuously
    cites = page_citations(ERRATA.read_text())
    assert {"228", "1161--1186", "3766", "3936", "2128", "1141--1142", "1536--1537"} <= cites
    assert len(cites) > 60


def test_every_citation_on_the_page_is_checked():
    missing = sorted(page_citations(ERRATA.read_text()) - set(CITED), key=lambda c: _span(c))
    assert not missing, f"docs/errata.rst cites lines that CITED does not check: {missing}"
    for page in OTHER_PAGES:
        cites = page_citations(page.read_text(), cells=False)
        assert cites, page               # each of them does cite the lecture
        missing = sorted(cites - set(CITED), key=lambda c: _span(c))
        assert not missing, f"{page.name} cites lines that CITED does not check: {missing}"


def test_page_names_this_version_of_the_lecture(lecture_lines):
    digest = hashlib.sha256("\n".join(lecture_lines).encode("utf-8")).hexdigest()
    text = ERRATA.read_text()
    assert digest in text, "the lecture file differs from the one the line numbers refer to"
    assert f"{len(lecture_lines) - 1} lines" in text   # the file ends with a newline


@pytest.mark.parametrize("citation", sorted(CITED, key=_span))
def test_cited_lines_contain_the_quoted_text(lecture_lines, citation):
    first, last = _span(citation)
    assert 1 <= first <= last <= len(lecture_lines)
    window = "\n".join(lecture_lines[first - 1:last]) + "\n"
    for snippet in CITED[citation]:
        assert snippet in window, f"lines {citation} do not contain {snippet!r}:\n{window}"


def test_cited_tests_exist():
    # every ``test_name`` the page names as evidence is a test function in tests/
    names = set(re.findall(r"``(test_[a-z0-9_]+)``", ERRATA.read_text()))
    assert names
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    absent = sorted(n for n in names if not re.search(rf"^def {n}\(", sources, re.M))
    assert not absent, absent


def test_lecture_derivative_of_the_incoming_gradient_differs():
    # The lecture's layers apply the activation's derivative to the incoming gradient,
    # sigma'(dL/da), where the chain rule multiplies it by the derivative at the
    # pre-activation, dL/da * sigma'(z).  For LeakyReLU the lecture's expression only
    # knows the gradient's sign: it maps every gradient to 1 or alpha.
    z = np.array([-2.0, -0.5, 0.5, 2.0])
    grad_a = np.array([3.0, 3.0, -4.0, 0.25])
    ours = A.leaky_relu.backward(z, grad_a)
    np.testing.assert_allclose(ours, grad_a * np.where(z > 0, 1.0, A.leaky_relu.alpha))
    lecture = A.leaky_relu.derivative(grad_a)
    np.testing.assert_array_equal(lecture, np.where(grad_a > 0, 1.0, A.leaky_relu.alpha))
    assert not np.allclose(ours, lecture)
