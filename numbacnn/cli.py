"""Command line: ``python -m numbacnn train`` (also installed as ``numbacnn``).

``numbacnn train`` with no options trains the lecture's CNN (Conv2D 10 filters
3x3 same ReLU -> MaxPool2D 2 -> Dense 50 ReLU -> Dense 10 softmax) on the MNIST
test set bundled with the package (10 000 images, 75 % for training, 25 % held
out), shows a progress bar per epoch, then prints the accuracy on the held-out
images and their confusion matrix.  ``numbacnn train --help`` lists the options.

Errors (unknown model or dataset, unreadable file, a model that does not fit
the data) print one line to stderr and exit with status 1; usage errors exit
with status 2.
"""

import argparse
import sys
import time
import warnings

import numpy as np

__all__ = ["main", "build_model", "MODELS", "DATASETS"]

MODELS = {
    "lecture": "the lecture's Keras CNN: conv 10@3x3 same relu, maxpool 2, dense 50 relu, "
    "dense softmax",
    "small": "conv 32@3x3 relu, maxpool 2, conv 64@3x3 relu, maxpool 2, dense 128 relu, "
    "dense softmax",
    "rnn": "SimpleRNN 64 over the image rows, dense softmax",
    "lstm": "LSTM 64 over the image rows, dense softmax",
    "gru": "GRU 64 over the image rows, dense softmax",
}

DATASETS = {
    "mnist": "MNIST 10k test set bundled with numbacnn (or idx files from --data-path)",
    "digits": "scikit-learn's 8x8 digits (1797 images)",
    "fashion-mnist": "Fashion-MNIST idx files (from --data-path or the Debian package's folder)",
    "cifar10": "CIFAR-10 python batches (needs --data-path to cifar-10-batches-py)",
}


class _UsageError(Exception):
    pass


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: ...)`` to each option's help, except where that would read
    ``None`` or ``False``: those options say in their help what happens without them."""

    def _get_help_string(self, action):
        if action.default is None or action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def build_model(name, n_classes, l2=0.0, optimizer=None, seed=None, *, lmbd=None):
    """The named architecture as an unbuilt :class:`numbacnn.Sequential`.

    The layers come from :mod:`numbacnn.architectures` (see :data:`MODELS`);
    ``l2`` is the model's L2 strength (penalty ``l2/2 * ||W||^2``, gradient
    ``l2 * W``).  ``lmbd`` is the deprecated name of ``l2``.
    """
    from . import architectures
    from .models import Sequential

    if lmbd is not None:
        warnings.warn("build_model(lmbd=...) is deprecated; use l2 (the same number)",
                      DeprecationWarning, stacklevel=2)
        l2 = lmbd
    if name == "lecture":
        layers = architectures.lecture_cnn(n_classes)
    elif name == "small":
        layers = architectures.small_cnn(n_classes)
    elif name in architectures.RECURRENT_CELLS:
        layers = architectures.recurrent_net(name, n_classes, 64, activation="softmax")
    else:
        raise _UsageError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return Sequential(layers, optimizer=optimizer, l2=l2, seed=seed)


def _load(dataset, path):
    from . import datasets

    if dataset == "mnist":
        data = datasets.load_mnist(path=path) if path else datasets.load_mnist()
    elif dataset == "digits":
        if path:
            raise _UsageError("--data-path is not used with --dataset digits")
        data = datasets.load_digits_images()
    elif dataset == "fashion-mnist":
        if path:
            data = datasets.load_fashion_mnist(path=path)
        else:
            from .datasets import _images

            try:
                data = datasets.load_fashion_mnist()
            except FileNotFoundError:
                # the library's advice names its keyword path=; here it is a flag
                raise FileNotFoundError(_images._fashion_mnist_missing(
                    _images.FASHION_MNIST_PATH, "point --data-path at")) from None
    elif dataset == "cifar10":
        if not path:
            raise _UsageError("--dataset cifar10 needs --data-path (a cifar-10-batches-py folder)")
        data = datasets.load_cifar10(path)
    else:
        raise _UsageError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    X, y = data[0], data[1]
    return np.asarray(X, dtype=np.float32), np.asarray(y)


def _confusion_text(cm, labels):
    width = max(len(str(cm.max())), max(len(str(lab)) for lab in labels), 4)
    head = "true\\pred".ljust(10) + " ".join(str(lab).rjust(width) for lab in labels)
    rows = [
        str(lab).ljust(10) + " ".join(str(v).rjust(width) for v in row)
        for lab, row in zip(labels, cm, strict=True)
    ]
    return "\n".join([head] + rows)


def _parser():
    parser = argparse.ArgumentParser(
        prog="numbacnn", description="Train and evaluate the lecture's CNNs and RNNs."
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"numbacnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True
    train = sub.add_parser(
        "train",
        help="train a model and report test accuracy and the confusion matrix",
        description="Train a named model on a named dataset; print held-out accuracy "
        "and the confusion matrix.",
        formatter_class=_HelpFormatter,
    )
    train.add_argument("--model", default="lecture", help=f"one of {', '.join(MODELS)}")
    train.add_argument("--dataset", default="mnist", help=f"one of {', '.join(DATASETS)}")
    train.add_argument(
        "--data-path", default=None,
        help="folder of the dataset's files (idx files for mnist and fashion-mnist, "
        "cifar-10-batches-py for cifar10) (default: the bundled MNIST; Fashion-MNIST from "
        "the Debian package's folder)",
    )
    train.add_argument("--epochs", type=int, default=5, help="passes over the training set")
    train.add_argument("--batch-size", type=int, default=64,
                       help="samples per gradient step")
    train.add_argument(
        "--optimizer", default="adam",
        help="sgd, momentum, adagrad, adagrad_momentum, rmsprop or adam",
    )
    train.add_argument("--eta", type=float, default=2e-3, help="learning rate")
    train.add_argument(
        "--l2", type=float, default=0.0,
        help="L2 regularisation strength: penalty l2/2 * ||W||^2 on every weight",
    )
    train.add_argument("--lmbd", type=float, default=None,
                       help="deprecated name of --l2 (default: not given)")
    train.add_argument(
        "--seed", type=int, default=0,
        help="seed of the weight initialisation, the batch order and the train/test split",
    )
    train.add_argument("--test-size", type=float, default=0.25, help="held-out fraction")
    train.add_argument("--limit", type=int, default=None,
                       help="use only the first N samples (default: all of them)")
    train.add_argument("--save", default=None,
                       help="write the trained model to this .npz file (default: not saved)")
    output = train.add_mutually_exclusive_group()
    output.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=1,
        help="training output on stderr: 0 none, 1 a progress bar per epoch, "
        "2 one line per epoch (for logs)",
    )
    output.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar (the same as --verbose 0)")
    return parser


def _train(args):
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import train_test_split

    from .optimizers import get_optimizer

    if args.model not in MODELS:
        raise _UsageError(f"unknown model {args.model!r}; choose one of {', '.join(MODELS)}")
    if args.dataset not in DATASETS:
        raise _UsageError(
            f"unknown dataset {args.dataset!r}; choose one of {', '.join(DATASETS)}"
        )
    if not 0 < args.test_size < 1:
        raise _UsageError(f"--test-size must lie between 0 and 1; got {args.test_size}")
    if args.lmbd is not None:
        if args.l2 != 0.0:
            raise _UsageError("give --l2 or its deprecated name --lmbd, not both")
        print("numbacnn: warning: --lmbd is deprecated; use --l2 (the same number)",
              file=sys.stderr)
        args.l2 = args.lmbd
    optimizer = get_optimizer({"name": args.optimizer, "eta": args.eta})
    X, y = _load(args.dataset, args.data_path)
    if args.limit is not None:
        if args.limit < 2:
            raise _UsageError(f"--limit must be at least 2; got {args.limit}")
        X, y = X[: args.limit], y[: args.limit]
    labels, codes = np.unique(y, return_inverse=True)
    if args.model in ("rnn", "lstm", "gru"):
        X = X.reshape(X.shape[0], -1, X.shape[-1])  # image rows as time steps
    # stratify when every class can appear on both sides of the split
    n_test = int(np.ceil(args.test_size * len(codes)))
    K = len(labels)
    fits = np.bincount(codes).min() >= 2 and K <= n_test <= len(codes) - K
    stratify = codes if fits else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, codes, test_size=args.test_size, random_state=args.seed, stratify=stratify
    )
    model = build_model(args.model, len(labels), args.l2, optimizer, args.seed)
    model.build(X.shape[1:], dtype=X.dtype)  # a misfit architecture fails before training
    out = sys.stdout
    print(
        f"training {args.model!r} on {args.dataset} ({len(X_train)} train / {len(X_test)} test "
        f"samples of shape {X.shape[1:]}) for {args.epochs} epochs, batch size "
        f"{args.batch_size}, {optimizer!r}, l2={args.l2:g}, seed={args.seed}",
        file=out,
    )
    start = time.perf_counter()
    history = model.fit(
        X_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
        verbose=0 if args.quiet else args.verbose,
    )
    seconds = time.perf_counter() - start - history.compile_time
    pred = model.predict(X_test)
    accuracy = float(np.mean(pred == y_test))
    note = " (interrupted)" if history.interrupted else ""
    if history.nonfinite:
        note = f" (stopped: {history.stopped_reason})"
    epochs = len(history.epoch)
    trained = f"{epochs} epoch{'' if epochs == 1 else 's'}"
    print(f"trained {trained} in {seconds:.1f} s{note}; before that "
          f"{history.compile_time:.1f} s compiling the kernels or loading them from the cache",
          file=out)
    print(f"test accuracy: {accuracy:.4f} ({int(np.sum(pred == y_test))}/{len(y_test)})", file=out)
    cm = confusion_matrix(y_test, pred, labels=np.arange(len(labels)))
    print("confusion matrix (rows: true class, columns: predicted class):", file=out)
    print(_confusion_text(cm, labels), file=out)
    if args.save:
        model.save(args.save)
        print(f"model saved to {args.save}", file=out)
    return 0


def main(argv=None):
    """Entry point of ``python -m numbacnn`` and the ``numbacnn`` script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _train(args)  # "train" is the only command so far
    except KeyboardInterrupt:  # outside training (which stops cleanly by itself)
        print("numbacnn: interrupted", file=sys.stderr)
        return 130
    except _UsageError as exc:
        print(f"numbacnn: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, FloatingPointError, RuntimeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"numbacnn: error: {message}", file=sys.stderr)
        return 1
