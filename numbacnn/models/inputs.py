"""What a :class:`~numbacnn.Sequential` model accepts, and how it is built for it.

**Image layout.**  numbacnn's layers compute on channels-first images
``(N, C, H, W)``.  A model made with ``data_format="channels_last"`` (Keras's
default layout) accepts ``(N, H, W, C)`` and transposes each array once, on
the way in (:func:`prepared`); its layers, their weights and every shape
inside the model stay channels-first, so its weights drive a channels-first
model on transposed data to the same outputs.

**The layout check.**  An image model (first layer, Dropout aside, a
:class:`~numbacnn.layers.Conv2D` or a pooling layer) refuses, when it is
built, samples that look like the other layout, with a ``ValueError`` naming
the transpose that fixes it.  For a channels-first model, a sample ``(A, B, C)``
*looks channels-last* when

* its last axis could be channels: ``C`` is 1, 3 or 4 (grey, RGB, RGBA), and
* its first two axes could not: ``A > 4`` and ``B > 4``.

So ``(28, 28, 1)`` and ``(32, 32, 3)`` are refused, while genuine
channels-first batches with a narrow image, such as ``(1, 28, 3)`` or
``(3, 32, 4)``, pass, because their first axis is a plausible channel count.
The only channels-first inputs refused are images of width 1, 3 or 4 with more
than 4 channels and a height above 4; for those, name the channels
(``Conv2D(..., in_channels=A)``) and the check stands aside.  The mirror rule
guards a channels-last model: ``(A, B, C)`` with ``A`` in {1, 3, 4} and
``B, C > 4`` looks channels-first (unless ``in_channels=C`` is given).
"""

import numpy as np

from .._validation import as_float_array, check_finite_array
from ..layers.conv import Conv2D
from ..layers.pool import AvgPool2D, MaxPool2D

__all__ = ["DATA_FORMATS", "check_data_format", "looks_channels_last", "build", "prepared"]

#: the layouts a model accepts, by Keras's names
DATA_FORMATS = ("channels_first", "channels_last")
#: channel counts of grey, RGB and RGBA images
_CHANNEL_COUNTS = (1, 3, 4)
#: (N, H, W, C) -> (N, C, H, W), and back
_TO_FIRST, _TO_LAST = (0, 3, 1, 2), (0, 2, 3, 1)


def check_data_format(value):
    """``value`` if it is one of :data:`DATA_FORMATS`, else ``ValueError``."""
    if value not in DATA_FORMATS:
        raise ValueError(
            f"data_format must be 'channels_first' (N, C, H, W) or 'channels_last' "
            f"(N, H, W, C); got {value!r}"
        )
    return value


def looks_channels_last(sample_shape):
    """True if an image sample ``(A, B, C)`` looks like ``(H, W, C)`` (the module's rule)."""
    if len(sample_shape) != 3:
        return False
    a, b, c = sample_shape
    return c in _CHANNEL_COUNTS and a > 4 and b > 4


def _first_image_layer(layers):
    for layer in layers:
        if isinstance(layer, (Conv2D, MaxPool2D, AvgPool2D)):
            return layer
        if not layer.stochastic:
            return None
    return None


def _check_layout(model, sample_shape):
    """Refuse, before anything is built, image samples that look like the other layout."""
    first = _first_image_layer(model.layers)
    if model.data_format == "channels_last" and first is None:
        raise ValueError(
            "data_format='channels_last' is for image models (a first layer Conv2D, "
            "MaxPool2D or AvgPool2D); leave it out for this model"
        )
    if first is None or len(sample_shape) != 3:
        if model.data_format == "channels_last":
            raise ValueError(
                "data_format='channels_last' needs images of shape (N, H, W, C); got "
                f"samples of shape {sample_shape}"
            )
        return
    declared = getattr(first, "in_channels", None)
    if model.data_format == "channels_first":
        if looks_channels_last(sample_shape) and declared != sample_shape[0]:
            h, w, c = sample_shape
            raise ValueError(
                f"X has samples of shape {sample_shape}, which look channels-last "
                f"(H, W, C) = ({h}, {w}, {c}), but the model reads channels-first "
                f"(C, H, W) images: it would train on {h} channels of {w} x {c} pixels. "
                "Use X.transpose(0, 3, 1, 2) to get (N, C, H, W), or pass "
                "data_format='channels_last' to Sequential. (If you really mean "
                f"{h} channels, give the first layer in_channels={h}.)"
            )
    elif looks_channels_last(sample_shape[1:] + sample_shape[:1]) and declared != sample_shape[2]:
        c, h, w = sample_shape
        raise ValueError(
            f"X has samples of shape {sample_shape}, which look channels-first "
            f"(C, H, W) = ({c}, {h}, {w}), but the model has data_format='channels_last' "
            "and reads (H, W, C). Use X.transpose(0, 2, 3, 1), or leave data_format out. "
            f"(If you really mean {w} channels, give the first layer in_channels={w}.)"
        )


def build(model, input_shape, dtype):
    """Build ``model``'s layers for samples of ``input_shape`` (the user's layout).

    The model's ``SeedSequence(seed)`` has three children: the first seeds the
    weights (one grandchild per layer), the second the shuffling, the third
    the masks of the stochastic layers (one grandchild per layer).  A model
    without such layers is as it was before they existed: ``spawn(3)``'s first
    two children are ``spawn(2)``'s.  Returns the model's output shape.
    """
    if not model.layers:
        raise ValueError("the model has no layers; pass a list of layers to Sequential")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    in_shape = tuple(int(s) for s in input_shape)
    _check_layout(model, in_shape)
    shape = in_shape
    if model.data_format == "channels_last":
        shape = tuple(in_shape[i - 1] for i in _TO_FIRST[1:])
    init_ss, shuffle_ss, noise_ss = np.random.SeedSequence(model.seed).spawn(3)
    n = len(model.layers)
    for i, (layer, layer_ss, noise) in enumerate(
            zip(model.layers, init_ss.spawn(n), noise_ss.spawn(n), strict=True)):
        try:
            shape = layer.build(shape, rng=np.random.default_rng(layer_ss), dtype=dtype)
        except ValueError as exc:
            raise ValueError(f"layer {i} ({type(layer).__name__}): {exc}") from None
        if layer.stochastic:
            layer.seed_noise(noise)
    model.training_state.seed(shuffle_ss)
    model.input_shape, model.dtype, model.built = in_shape, dtype, True
    return shape


def prepared(model, X, name="X", build_model=False):
    """``X`` checked, in the layers' layout (channels-first); builds the model if asked.

    Raises ``ValueError`` naming ``name`` for a missing sample axis, no
    samples, NaN or infinite values, or samples of a shape other than the one
    the model was built for (saying which transpose fits, when one does).
    """
    X = as_float_array(X, name, dtype=model.dtype)
    if X.ndim < 2:
        raise ValueError(
            f"{name} must have a sample axis first, e.g. (N, C, H, W) images or (N, T, D) "
            f"sequences; got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no samples; got shape {X.shape}")
    expected = model.input_shape
    if expected is not None and X.shape[1:] != expected:
        hint = ""
        for axes in (_TO_FIRST, _TO_LAST) if X.ndim == 4 else ():
            if tuple(X.shape[i] for i in axes[1:]) == expected:
                hint = (f"; {name}.transpose{axes} has the model's layout (the model reads "
                        f"{model.data_format.replace('_', '-')} images)")
        raise ValueError(
            f"the model was built for samples of shape {expected}; {name} has "
            f"samples of shape {X.shape[1:]} (array shape {X.shape}){hint}"
        )
    check_finite_array(X, name)
    if build_model and not model.built:
        model.build(X.shape[1:], dtype=X.dtype)
    if model.data_format == "channels_last":
        X = np.ascontiguousarray(X.transpose(_TO_FIRST))
    return X
