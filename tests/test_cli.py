"""The command line, run in-process through ``numbacnn.cli.main``."""

import gzip
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from numbacnn import load_model
from numbacnn.cli import build_model, main

TINY = ["--epochs", "1", "--batch-size", "16", "-q"]


def test_train_digits_prints_accuracy_and_confusion_matrix(capsys):
    code = main(["train", "--dataset", "digits", "--limit", "120", *TINY])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert "test accuracy:" in out
    lines = out.splitlines()
    start = lines.index("confusion matrix (rows: true class, columns: predicted class):")
    table = lines[start + 1 :]
    assert table[0].split()[1:] == [str(d) for d in range(10)]
    counts = np.array([[int(v) for v in row.split()[1:]] for row in table[1:11]])
    assert counts.sum() == 30  # 25 % of 120 held out
    correct = int(out.split("test accuracy: ")[1].split("(")[1].split("/")[0])
    assert np.trace(counts) == correct


def test_default_dataset_is_the_bundled_mnist(capsys):
    assert main(["train", "--limit", "20", *TINY]) == 0
    out = capsys.readouterr().out
    assert "'lecture' on mnist (15 train / 5 test samples of shape (1, 28, 28))" in out


@pytest.mark.parametrize("model", ["small", "rnn", "lstm", "gru"])
def test_other_models(model, capsys):
    # two unpadded 3x3 convolutions with pooling need images larger than digits' 8x8;
    # a handful of MNIST images keeps this fast without JIT (NUMBA_DISABLE_JIT=1)
    dataset, limit = ("mnist", "4") if model == "small" else ("digits", "30")
    assert main(["train", "--model", model, "--dataset", dataset, "--limit", limit, *TINY]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_progress_bar_and_save(tmp_path, capsys):
    path = tmp_path / "cnn.npz"
    code = main(["train", "--dataset", "digits", "--limit", "60", "--epochs", "1",
                 "--save", str(path)])
    out, err = capsys.readouterr()
    assert code == 0 and "epoch 1" in err and f"model saved to {path}" in out
    model = load_model(path)
    assert model.input_shape == (1, 8, 8)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "cifar100"], "unknown dataset 'cifar100'; choose one of mnist"),
        (["--model", "resnet"], "unknown model 'resnet'; choose one of lecture"),
        (["--optimizer", "lbfgs"], "unknown optimizer 'lbfgs'"),
        (["--test-size", "1.5"], "--test-size must lie between 0 and 1"),
        (["--dataset", "cifar10"], "needs --data-path"),
        (["--eta", "-1"], "eta"),
    ],
)
def test_usage_errors_are_one_line(args, message, capsys):
    code = main(["train", *args, *TINY])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and err.startswith("numbacnn: error: ") and message in err


def test_bad_data_path_is_one_line(tmp_path, capsys):
    assert main(["train", "--data-path", str(tmp_path / "nowhere"), *TINY]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err
    # a corrupt idx file
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03junk"))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01junk"))
    assert main(["train", "--data-path", str(tmp_path), *TINY]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("numbacnn: error: ")


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--epoch", "3", "--frobnicate"])
    assert exc.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_version_and_interrupt_outside_training(monkeypatch, capsys):
    import numbacnn
    import numbacnn.cli as cli

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and numbacnn.__version__ in capsys.readouterr().out

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_load", interrupted)
    assert main(["train", *TINY]) == 130
    assert capsys.readouterr().err == "numbacnn: interrupted\n"


def test_build_model_architectures():
    model = build_model("lecture", 10)
    model.build((1, 28, 28))
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "MaxPool2D", "Flatten", "Dense", "Dense"]
    assert model.layers[-1].output_shape == (10,)
    small = build_model("small", 10)
    assert small.build((1, 28, 28)) == (10,)
    assert [layer.output_shape for layer in small.layers][:4] == [
        (32, 26, 26), (32, 13, 13), (64, 11, 11), (64, 5, 5)]


def test_build_model_recurrent_row_classifiers():
    for name, cell in (("rnn", "SimpleRNN"), ("lstm", "LSTM"), ("gru", "GRU")):
        model = build_model(name, 4)
        assert model.build((28, 28)) == (4,)
        assert [type(layer).__name__ for layer in model.layers] == [cell, "Dense"]
        assert model.layers[0].units == 64


def test_build_model_l2_and_its_deprecated_name():
    assert build_model("lecture", 10, l2=0.5).l2 == 0.5
    with pytest.warns(DeprecationWarning, match="lmbd"):
        assert build_model("lecture", 10, lmbd=0.25).l2 == 0.25


def test_l2_option_and_deprecated_lmbd(capsys):
    digits = ["train", "--dataset", "digits", "--limit", "40", *TINY]
    assert main([*digits, "--l2", "0.01"]) == 0
    assert "l2=0.01" in capsys.readouterr().out
    assert main([*digits, "--lmbd", "0.01"]) == 0
    captured = capsys.readouterr()
    assert "--lmbd is deprecated; use --l2" in captured.err and "l2=0.01" in captured.out
    assert main([*digits, "--lmbd", "0.01", "--l2", "0.02"]) == 2
    assert "not both" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    result = subprocess.run(
        [sys.executable, "-m", "numbacnn", "train", "--dataset", "nope"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "numbacnn: error: unknown dataset 'nope'; choose one of mnist, digits, "
        "fashion-mnist, cifar10"
    )


def test_a_diverging_run_says_where_it_stopped(capsys):
    # eta * l2 = 100 multiplies the weights by -99 per SGD step: the cost overflows
    # in a few epochs; the run ends normally and the summary line says why it stopped
    with pytest.warns(RuntimeWarning):
        code = main(["train", "--dataset", "digits", "--limit", "120", "--epochs", "30",
                     "--batch-size", "16", "--optimizer", "sgd", "--eta", "10", "--l2", "10",
                     "-q"])
    assert code == 0
    out = capsys.readouterr().out
    assert "(stopped: training stopped at epoch" in out and "not applied" in out


def _train_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def _option_blocks(text):
    """``{option: its help, on one line}`` from argparse's help text."""
    blocks, current = {}, None
    for line in text.split("options:", 1)[1].splitlines():
        if line.startswith("  -"):
            flags = line.strip().split("  ")[0]  # "-q, --quiet" or "--epochs EPOCHS"
            current = re.findall(r"(?<![\w-])--?[a-z][\w-]*", flags)[-1]
            blocks[current] = line
        elif current is not None:
            blocks[current] += " " + line
    return {k: " ".join(v.split()) for k, v in blocks.items()}


def test_help_names_every_options_default(capsys):
    from numbacnn.cli import _parser

    train = _parser()._subparsers._group_actions[0].choices["train"]
    options = [a for a in train._actions if a.option_strings and a.dest != "help"]
    blocks = _option_blocks(_train_help(capsys))
    assert set(blocks) == {"--help"} | {a.option_strings[-1] for a in options}
    for action in options:
        block = blocks[action.option_strings[-1]]
        assert action.help, block
        if action.nargs == 0:  # a switch: off unless given
            continue
        assert "(default: " in block, block
        if action.default not in (None, False):
            assert f"(default: {action.default})" in block, block
    for option in ("--epochs", "--batch-size", "--seed"):
        words = blocks[option].split(maxsplit=2)[2]  # past the flag and its metavar
        assert len(words.split("(default:")[0].split()) >= 2  # says what the number is


def test_verbose_two_prints_one_line_per_epoch(capsys):
    assert main(["train", "--dataset", "digits", "--limit", "60", "--epochs", "2",
                 "--batch-size", "16", "--verbose", "2"]) == 0
    err = capsys.readouterr().err
    # a cold numba cache adds the compile notice's two "numbacnn: ..." lines before them
    lines = [line for line in err.splitlines() if not line.startswith("numbacnn: ")]
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"]
    assert all("loss: " in line and "accuracy: " in line for line in lines)
    assert "\r" not in err  # no progress bar
    with pytest.raises(SystemExit):
        main(["train", "--verbose", "2", "-q"])  # one or the other
    assert "not allowed with" in capsys.readouterr().err


def test_missing_fashion_mnist_names_the_flag(monkeypatch, tmp_path, capsys):
    from numbacnn.datasets import _images

    monkeypatch.setattr(_images, "FASHION_MNIST_PATH", str(tmp_path / "not-installed"))
    assert main(["train", "--dataset", "fashion-mnist", *TINY]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not-installed" in err
    assert "--data-path" in err and "path=" not in err.replace("--data-path", "")
    assert "apt-get install dataset-fashion-mnist" in err
