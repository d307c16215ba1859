"""Plain dicts <-> config dataclasses: :func:`from_dict`, :func:`to_dict`, :func:`flatten`.

Also holds :func:`_check`, the one-line validation helper every config dataclass uses to raise
:class:`~anomaly_diffusion.errors.ConfigError`. Re-exported by :mod:`anomaly_diffusion.config`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from anomaly_diffusion.errors import ConfigError


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def from_dict(cls: type, values: dict[str, Any] | None, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a plain dict, recursing into nested dataclasses.

    Raises:
        ConfigError: for an unknown key (naming its dotted path) or a badly typed value.
    """
    values = dict(values or {})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    _check(
        not unknown,
        f"unknown config key(s) {[prefix + k for k in unknown]}; "
        f"valid keys under '{prefix or 'top level'}' are {sorted(names)}",
    )
    kwargs = {name: _coerce(hints[name], value, prefix + name) for name, value in values.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, path: str) -> Any:
    if value is None:
        return None  # the dataclass's own validation says whether null is allowed
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(args[0], value, path)
    if dataclasses.is_dataclass(hint):
        _check(isinstance(value, dict), f"{path} must be a mapping, got {value!r}")
        return from_dict(hint, value, prefix=path + ".")
    if origin is tuple:
        _check(isinstance(value, (list, tuple)), f"{path}={value!r} must be a list")
        inner = typing.get_args(hint)[0]
        return tuple(_coerce(inner, v, path) for v in value)
    if hint is bool:
        _check(isinstance(value, bool), f"{path}={value!r} must be true or false")
        return value
    if hint in (int, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        _check(ok, f"{path}={value!r} must be a number")
        _check(hint is float or float(value).is_integer(), f"{path}={value!r} must be an integer")
        return hint(value)
    if hint is str:
        return str(value)
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass (tuples become lists)."""
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten a nested dict to dotted keys: ``{"a": {"b": 1}} -> {"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(flatten(value, prefix + key + "."))
        else:
            flat[prefix + key] = value
    return flat
