"""Run values to JSON and back, without pickle: the encoding pipeline snapshots use.

Plain JSON values stay as they are (strings, finite numbers, booleans, None, lists, and dicts with string keys
that do not start with ``$``). Everything else becomes a one-key tagged object:

* ``{"$float": "nan"}`` (also ``"inf"``, ``"-inf"``), ``{"$bytes": "<base64>"}``, ``{"$tuple": [...]}``,
  ``{"$set": [...]}``, ``{"$frozenset": [...]}``, ``{"$dict": [[key, value], ...]}`` (other keys),
  ``{"$datetime": "<iso>"}``, ``{"$date": "<iso>"}``, ``{"$ndarray": {"dtype", "shape", "data"}}``;
* ``{"$object": "module.Class", "data": ...}`` for classes with ``to_dict()``/``from_dict()`` (Document,
  ChatMessage, ByteStream, ...), ``{"$dataclass": "module.Class", "fields": {...}}`` for other dataclasses,
  ``{"$enum": "module.Class", "value": ...}`` for enum members.

Loading imports a class only through the serialization allow-list (``haybale`` itself, ``allowed_modules``,
``HAYBALE_ALLOWED_MODULES``), so a crafted snapshot cannot instantiate arbitrary types. A value that has no
encoding raises :class:`~haybale.errors.SerializationError` naming where it sits and how to make it
encodable.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import math
from typing import Any, Final

from haybale.core.serialization import import_class, type_name_of
from haybale.errors import DeserializationError, SerializationError

__all__ = ["decode_value", "encode_value"]

_TAGS: Final = frozenset(
    {
        "$bytes",
        "$dataclass",
        "$date",
        "$datetime",
        "$dict",
        "$enum",
        "$float",
        "$frozenset",
        "$ndarray",
        "$object",
        "$set",
        "$tuple",
    }
)
_MAX_DEPTH: Final = 200


def encode_value(value: Any, where: str = "value") -> Any:
    """Encode ``value`` as JSON-compatible data (see the module docstring for the format).

    Args:
        value: what to encode.
        where: a description of where the value sits, used in error messages (``"inputs of 'llm'"``).

    Raises:
        SerializationError: a value of a type that has no encoding; the message names its path and type.
    """
    return _encode(value, where, 0)


def _encode(value: Any, path: str, depth: int) -> Any:  # noqa: PLR0911, PLR0912 - one branch per type
    if depth > _MAX_DEPTH:
        raise SerializationError(f"Cannot encode {path}: nested deeper than {_MAX_DEPTH} levels (a cycle?).")
    if value is None or (isinstance(value, bool | int | str) and not isinstance(value, enum.Enum)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, list):
        return [_encode(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v, f"{path}.{k}", depth + 1) for k, v in value.items()}
        return {
            "$dict": [
                [_encode(k, f"{path} key", depth + 1), _encode(v, f"{path}[{k!r}]", depth + 1)]
                for k, v in value.items()
            ]
        }
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return {"$tuple": [_encode(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]}
    if isinstance(value, set | frozenset):
        tag = "$frozenset" if isinstance(value, frozenset) else "$set"
        items = [_encode(item, f"{path} item", depth + 1) for item in value]
        return {tag: sorted(items, key=repr)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, enum.Enum):
        return {"$enum": type_name_of(type(value)), "value": _encode(value.value, path, depth + 1)}
    if type(value).__module__ == "numpy":
        return _encode_numpy(value, path, depth)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and callable(getattr(type(value), "from_dict", None)):
        return {"$object": type_name_of(type(value)), "data": _encode(to_dict(), path, depth + 1)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: _encode(getattr(value, f.name), f"{path}.{f.name}", depth + 1)
            for f in dataclasses.fields(value)
            if f.init
        }
        return {"$dataclass": type_name_of(type(value)), "fields": fields}
    raise SerializationError(
        f"Cannot encode {path}: a {type(value).__module__}.{type(value).__qualname__} has no JSON encoding. "
        "Snapshots hold plain data, haybale dataclasses, dataclasses, enums, bytes and numpy arrays; give "
        "the class to_dict() and a from_dict() classmethod (or make it a dataclass) to include it."
    )


def _encode_numpy(value: Any, path: str, depth: int) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return _encode(value.tolist(), path, depth + 1)
        contiguous = np.ascontiguousarray(value)
        return {
            "$ndarray": {
                "dtype": contiguous.dtype.str,
                "shape": list(contiguous.shape),
                "data": base64.b64encode(contiguous.tobytes()).decode("ascii"),
            }
        }
    if isinstance(value, np.generic):
        return _encode(value.item(), path, depth + 1)
    raise SerializationError(f"Cannot encode {path}: numpy {type(value).__name__} has no JSON encoding.")


def decode_value(data: Any, where: str = "value") -> Any:
    """Rebuild a value from :func:`encode_value` output, importing classes only through the allow-list.

    Raises:
        DeserializationError: malformed data, or a class that is not allow-listed; the message names where.
    """
    return _decode(data, where, 0)


def _decode(data: Any, path: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise DeserializationError(f"Cannot decode {path}: nested deeper than {_MAX_DEPTH} levels.")
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [_decode(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(data)]
    if not isinstance(data, dict):
        raise DeserializationError(f"Cannot decode {path}: unexpected {type(data).__name__}.")
    tag = next((k for k in data if k in _TAGS), None) if data else None
    if tag is None:
        bad = [k for k in data if not isinstance(k, str) or k.startswith("$")]
        if bad:
            raise DeserializationError(
                f"Cannot decode {path}: unknown tag {bad[0]!r}; known tags: {sorted(_TAGS)}."
            )
        return {k: _decode(v, f"{path}.{k}", depth + 1) for k, v in data.items()}
    body = data[tag]
    try:
        return _decode_tagged(tag, body, data, path, depth)
    except DeserializationError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise DeserializationError(f"Cannot decode {path} ({tag}): {type(exc).__name__}: {exc}") from exc


def _decode_tagged(tag: str, body: Any, data: dict[str, Any], path: str, depth: int) -> Any:  # noqa: PLR0911
    if tag == "$float":
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[body]
    if tag == "$bytes":
        return base64.b64decode(body, validate=True)
    if tag in ("$tuple", "$set", "$frozenset"):
        items = [_decode(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(_as_list(body, path))]
        return {"$tuple": tuple, "$set": set, "$frozenset": frozenset}[tag](items)
    if tag == "$dict":
        return {
            _decode(k, f"{path} key", depth + 1): _decode(v, f"{path} value", depth + 1)
            for k, v in _as_list(body, path)
        }
    if tag == "$datetime":
        return dt.datetime.fromisoformat(body)
    if tag == "$date":
        return dt.date.fromisoformat(body)
    if tag == "$ndarray":
        import numpy as np

        array = np.frombuffer(base64.b64decode(body["data"], validate=True), dtype=np.dtype(body["dtype"]))
        return array.reshape(body["shape"]).copy()
    cls = import_class(body)
    if tag == "$enum":
        if not issubclass(cls, enum.Enum):
            raise DeserializationError(f"Cannot decode {path}: '{body}' is not an enum.")
        return cls(_decode(data.get("value"), path, depth + 1))
    if tag == "$object":
        from_dict = getattr(cls, "from_dict", None)
        if not callable(from_dict):
            raise DeserializationError(f"Cannot decode {path}: '{body}' has no from_dict().")
        return from_dict(_decode(data.get("data"), path, depth + 1))
    if not dataclasses.is_dataclass(cls):
        raise DeserializationError(f"Cannot decode {path}: '{body}' is not a dataclass.")
    fields = _decode(data.get("fields") or {}, path, depth + 1)
    return cls(**fields)


def _as_list(body: Any, path: str) -> list[Any]:
    if not isinstance(body, list):
        raise DeserializationError(f"Cannot decode {path}: expected a list, got {type(body).__name__}.")
    return body
