"""Old public names that keep working for one release, with a ``DeprecationWarning``.

The one place for renamings: :func:`warn_renamed` for any old name,
:func:`renamed_kwargs` for the keyword arguments of a function and
:func:`deprecated_alias` for a method.  :func:`keyword_aliases` shares the
translation for second names that stay (Keras's spellings), without a warning.
"""

import functools
import inspect
import warnings

__all__ = ["warn_renamed", "renamed_kwargs", "keyword_aliases", "deprecated_alias"]


def warn_renamed(old, new, stacklevel=3):
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def _translated(fn_name, kwargs, names, describe, on_use=None, positional=()):
    """``kwargs`` with each key of ``names`` (other=native) replaced by its native name.

    Passing both names (``positional``: the names the positional arguments
    filled) is a ``TypeError``, as passing one argument twice is.
    """
    for other in names.keys() & kwargs.keys():
        native = names[other]
        if native in kwargs or native in positional:
            raise TypeError(
                f"{fn_name}() got both {other!r} ({describe}) and {native!r}; pass only one"
            )
        if on_use is not None:
            on_use(other, native)
        kwargs[native] = kwargs.pop(other)
    return kwargs


def renamed_kwargs(**renamed):
    """Decorator: accept the old keyword names ``renamed`` (old=new) with a warning.

    Positional calls are untouched.  Passing both the old and the new name is a
    ``TypeError``, as passing one argument twice is.

    Examples
    --------
    >>> import warnings
    >>> @renamed_kwargs(U="W_ih")
    ... def f(W_ih):
    ...     return W_ih
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     f(U=1)
    1
    """

    def decorate(fn):
        def warn(old, new):
            warn_renamed(f"{fn.__name__}() keyword {old!r}", repr(new), stacklevel=5)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **_translated(fn.__name__, kwargs, renamed, "deprecated", warn))

        return wrapper

    return decorate


def keyword_aliases(**aliases):
    """Decorator: accept a second, equally valid name for keyword arguments (alias=native).

    Used for the names Keras gives numbacnn's arguments (``learning_rate`` for
    ``eta``, ``strides`` for ``stride``); an alias is not deprecated and does
    not warn.  Passing both names is a ``TypeError``.

    Examples
    --------
    >>> @keyword_aliases(learning_rate="eta")
    ... def f(eta=0.1):
    ...     return eta
    >>> f(learning_rate=0.5)
    0.5
    """

    def decorate(fn):
        order = list(inspect.signature(fn).parameters)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            # a constructor is named after its class
            name = type(args[0]).__name__ if fn.__name__ == "__init__" and args else fn.__name__
            return fn(*args, **_translated(name, kwargs, aliases, "an alias",
                                           positional=order[:len(args)]))

        wrapper.keyword_aliases = dict(aliases)
        return wrapper

    return decorate


def deprecated_alias(old, new):
    """A method ``old`` that warns and calls the method ``new``.

    Used in a class body: ``to_config = deprecated_alias("to_config", "get_config")``.
    """

    def alias(self, *args, **kwargs):
        warn_renamed(f"{type(self).__name__}.{old}()", f"{new}()")
        return getattr(self, new)(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated alias of :meth:`{new}` (removed in the next release)."
    return alias
