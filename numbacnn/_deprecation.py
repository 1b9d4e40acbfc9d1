"""Old public names that keep working for one release, with a ``DeprecationWarning``.

The one place for renamings: :func:`warn_renamed` for any old name,
:func:`renamed_kwargs` for the keyword arguments of a function and
:func:`deprecated_alias` for a method.
"""

import functools
import warnings

__all__ = ["warn_renamed", "renamed_kwargs", "deprecated_alias"]


def warn_renamed(old, new, stacklevel=3):
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


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
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old in renamed.keys() & kwargs.keys():
                new = renamed[old]
                if new in kwargs:
                    raise TypeError(
                        f"{fn.__name__}() got both {old!r} (deprecated) and {new!r}; "
                        f"pass only {new!r}"
                    )
                warn_renamed(f"{fn.__name__}() keyword {old!r}", repr(new))
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

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
