"""One way to turn a user's ``spec`` into an object: shared by activations, losses, optimizers.

A spec is ``None`` (the default, where there is one), a registered name
(case-insensitive), a config dict ``{"name": ..., **params}`` as written by the
objects' ``get_config()``, a class, or an instance, which is returned as it is.
"""

__all__ = ["lookup", "resolve"]


def lookup(name, registry, kind):
    """The class registered under ``name``; ``ValueError`` listing the valid names otherwise."""
    key = name.lower() if isinstance(name, str) else name
    if key not in registry:
        valid = ", ".join(repr(k) for k in registry)
        raise ValueError(f"unknown {kind} {name!r}; valid names are {valid}")
    return registry[key]


def resolve(spec, *, base, registry, kind, default=None):
    """Return an instance of ``base`` described by ``spec``.

    Parameters
    ----------
    spec : None, str, dict, class or instance
        What the user passed.
    base : type
        The family's base class (``Activation``, ``Loss``, ``Optimizer``).
    registry : dict
        Lower-case name -> class.
    kind : str
        The family's name in error messages ("activation", ...).
    default : type or None
        Class instantiated for ``spec=None``; ``None`` means ``None`` is refused.
    """
    if spec is None and default is not None:
        return default()
    if isinstance(spec, base):
        return spec
    if isinstance(spec, type) and issubclass(spec, base) and spec is not base:
        return spec()
    if isinstance(spec, dict):
        if "name" not in spec:
            raise ValueError(f"a {kind} config needs a 'name' key; got {spec!r}")
        params = {k: v for k, v in spec.items() if k != "name"}
        cls = lookup(spec["name"], registry, kind)
        try:
            return cls(**params)
        except TypeError as exc:
            raise ValueError(
                f"invalid parameters for {kind} {spec['name']!r} "
                f"in the {kind} config {spec!r}: {exc}"
            ) from None
    if isinstance(spec, str):
        return lookup(spec, registry, kind)()
    allowed = "None, a name" if default is not None else "a name"
    raise TypeError(
        f"{kind} must be {allowed}, a config dict or an instance of {base.__name__}; got {spec!r}"
    )
