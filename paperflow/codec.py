"""Typed JSON for the values tasks pass and cache: no pickle, and only our own types come back.

Task results live in storage that other machines can write to (a shared S3 prefix). Pickle runs
whatever code a blob names when it is loaded; this codec can only build plain JSON values and
instances of dataclasses, pydantic models, enums and exceptions defined in this project's own
packages, whose modules are already installed. A blob naming any other type is refused.

Encoding: JSON values as they are; everything else as a one-key object whose key starts with
`$` (a dict whose keys are not all plain strings is tagged too, so no user data is mistaken
for a tag).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import json
import operator
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from paperflow.errors import PaperflowError

TRUSTED_PACKAGES = ("paperflow", "tasks", "flows", "deployments")
"""Modules whose classes may be rebuilt from a blob; everything else is refused."""
BUILTIN_EXCEPTIONS = {
    name: cls for name, cls in vars(__import__("builtins")).items()
    if isinstance(cls, type) and issubclass(cls, BaseException)
}


class UntrustedPayloadError(PaperflowError):
    """A stored blob names a type outside this project, or is not this codec's JSON."""


class RestoredError(Exception):
    """An exception whose own class could not be rebuilt: its class name and message kept."""


_fields_cache: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}
_class_cache: dict[str, type] = {}


def _qualified(cls: type) -> str:
    origin = getattr(cls, "__pydantic_generic_metadata__", {}).get("origin") or cls
    return f"{origin.__module__}:{origin.__qualname__}"


def _fields(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A dataclass's field names, split into those its `__init__` takes and the rest; memo
    fields (`metadata={"cache": True}`) are neither: they are computed again after loading."""
    cached = _fields_cache.get(cls)
    if cached is None:
        fields = [f for f in dataclasses.fields(cls) if not f.metadata.get("cache")]
        cached = (tuple(f.name for f in fields if f.init), tuple(f.name for f in fields
                                                                 if not f.init))
        _fields_cache[cls] = cached
    return cached


_PLAIN = frozenset({str, bool, int, float, type(None)})
"""Types that are JSON as they are (exactly these: a `str` enum is tagged)."""
_encoders: dict[type, Callable[[Any], Any]] = {}
"""One encoder a type, built on first sight: a task result holds thousands of spans of a few
classes, and deciding per value what it is cost more than writing the JSON."""


def encode(value: Any) -> Any:
    """A JSON-ready form of `value`; raises TypeError for what the codec cannot carry."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    encoder = _encoders.get(kind)
    if encoder is None:
        encoder = _encoder_for(kind)
        _encoders[kind] = encoder
    return encoder(value)


def _items(values: Any) -> list[Any]:
    return [item if type(item) in _PLAIN else encode(item) for item in values]


def _encode_dict(value: dict[Any, Any]) -> Any:
    if all(type(key) is str and not key.startswith("$") for key in value):
        return {key: item if type(item) in _PLAIN else encode(item)
                for key, item in value.items()}
    return {"$dict": [[encode(key), encode(item)] for key, item in value.items()]}


def _reader(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the named attributes of a value, as a tuple."""
    if len(names) == 1:
        name = names[0]
        return lambda value: (getattr(value, name),)
    return operator.attrgetter(*names) if names else lambda value: ()


def _encoder_for(kind: type) -> Callable[[Any], Any]:
    """How to encode every value of type `kind`; raises TypeError if the codec cannot."""
    if issubclass(kind, enum.Enum):
        enum_name = _qualified(kind)
        return lambda value: {"$enum": [enum_name, value.value]}
    if issubclass(kind, (str, bool, int, float)):
        return lambda value: value
    if issubclass(kind, list):
        return _items
    if issubclass(kind, dict):
        return _encode_dict
    if issubclass(kind, tuple):
        return lambda value: {"$tuple": _items(value)}
    if dataclasses.is_dataclass(kind):
        class_name = _qualified(kind)
        read_init, read_rest = (_reader(names) for names in _fields(kind))

        def encode_dataclass(value: Any) -> Any:
            return {"$dc": [class_name, _items(read_init(value)), _items(read_rest(value))]}
        return encode_dataclass
    if issubclass(kind, BaseModel):
        model_name = _qualified(kind)
        return lambda value: {"$model": [model_name, value.model_dump(mode="json")]}
    if issubclass(kind, (set, frozenset)):
        return lambda value: {"$set": _items(value)}
    if issubclass(kind, bytes):
        return lambda value: {"$bytes": base64.b64encode(value).decode("ascii")}
    if issubclass(kind, dt.datetime):
        return lambda value: {"$datetime": value.isoformat()}
    if issubclass(kind, dt.date):
        return lambda value: {"$date": value.isoformat()}
    if issubclass(kind, BaseException):
        exception_name = _qualified(kind)
        return lambda value: {"$exc": [exception_name, str(value)]}
    numpy = _numpy_if_loaded()
    if numpy is not None and issubclass(kind, numpy.ndarray):
        return _encode_array
    if numpy is not None and issubclass(kind, numpy.generic):
        return lambda value: value.item()
    raise TypeError(f"cannot store a {kind.__module__}.{kind.__qualname__} as "
                    "JSON: return dataclasses, pydantic models or plain values from tasks")


def _encode_array(value: Any) -> Any:
    numpy = _numpy_if_loaded()
    return {"$ndarray": [str(value.dtype), list(value.shape),
                         base64.b64encode(numpy.ascontiguousarray(value).tobytes())
                         .decode("ascii")]}


def _numpy_if_loaded() -> Any:
    import sys

    return sys.modules.get("numpy")


def trusted_class(name: str) -> type:
    """The class a blob names, if it is defined in one of this project's packages."""
    cls = _class_cache.get(name)
    if cls is not None:
        return cls
    module_name, _, qualname = name.partition(":")
    if module_name.split(".", 1)[0] not in TRUSTED_PACKAGES or not qualname:
        raise UntrustedPayloadError(
            f"refusing to rebuild {name!r}: only types from {', '.join(TRUSTED_PACKAGES)} are "
            "loaded from stored results. Someone wrote this blob by other means; delete it "
            "(`paperflow gc`) and check who can write to the results store.")
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if not isinstance(found, type):
        raise UntrustedPayloadError(f"{name!r} names no class of this version of paperflow")
    _class_cache[name] = found
    return found


def decode(value: Any) -> Any:
    """The value `encode` was given, rebuilt; refuses types from outside this project."""
    kind = type(value)
    if kind is list:
        return [item if type(item) in _PLAIN else decode(item) for item in value]
    if kind is not dict:
        return value
    if len(value) == 1:
        (tag, body), = value.items()
        if tag.startswith("$"):
            return _decode_tagged(tag, body)
    return {key: item if type(item) in _PLAIN else decode(item) for key, item in value.items()}


_dataclass_builders: dict[str, Callable[[list[Any], list[Any]], Any]] = {}


def _dataclass_builder(name: str) -> Callable[[list[Any], list[Any]], Any]:
    """How to rebuild the dataclass `name` from its encoded field values (made once a class)."""
    builder = _dataclass_builders.get(name)
    if builder is not None:
        return builder
    cls = trusted_class(name)
    if not dataclasses.is_dataclass(cls):
        raise UntrustedPayloadError(f"{name!r} is not a dataclass")
    init, rest = _fields(cls)
    positional = not any(f.kw_only for f in dataclasses.fields(cls) if f.init)

    def build(init_values: list[Any], other_values: list[Any]) -> Any:
        if len(init_values) != len(init) or len(other_values) != len(rest):
            raise UntrustedPayloadError(f"a stored {name!r} has {len(init_values)} + "
                                        f"{len(other_values)} fields; this version has "
                                        f"{len(init)} + {len(rest)}")
        values = [decode(value) for value in init_values]
        instance = cls(*values) if positional else cls(**dict(zip(init, values, strict=True)))
        for field_name, item in zip(rest, other_values, strict=True):
            object.__setattr__(instance, field_name, decode(item))
        return instance
    _dataclass_builders[name] = build
    return build


def _decode_tagged(tag: str, body: Any) -> Any:
    if tag == "$dc":
        name, init_values, other_values = body
        return _dataclass_builder(name)(init_values, other_values)
    if tag == "$model":
        name, data = body
        cls = trusted_class(name)
        if not issubclass(cls, BaseModel):
            raise UntrustedPayloadError(f"{name!r} is not a pydantic model")
        return cls.model_validate(data)
    if tag == "$tuple":
        return tuple(decode(item) for item in body)
    if tag == "$dict":
        return {decode(key): decode(item) for key, item in body}
    if tag == "$set":
        return {decode(item) for item in body}
    if tag == "$bytes":
        return base64.b64decode(body)
    if tag == "$datetime":
        return dt.datetime.fromisoformat(body)
    if tag == "$date":
        return dt.date.fromisoformat(body)
    if tag == "$enum":
        name, item = body
        cls = trusted_class(name)
        if not issubclass(cls, enum.Enum):
            raise UntrustedPayloadError(f"{name!r} is not an enum")
        return cls(item)
    if tag == "$exc":
        return _exception(*body)
    if tag == "$ndarray":
        import numpy

        dtype, shape, data = body
        return numpy.frombuffer(base64.b64decode(data), dtype=numpy.dtype(dtype)).reshape(
            shape).copy()
    raise UntrustedPayloadError(f"unknown tag {tag!r} in a stored result")


def _exception(name: str, message: str) -> BaseException:
    module_name, _, qualname = name.partition(":")
    cls: type | None = BUILTIN_EXCEPTIONS.get(qualname) if module_name == "builtins" else None
    if cls is None and module_name.split(".", 1)[0] in TRUSTED_PACKAGES:
        try:
            cls = trusted_class(name)
        except (UntrustedPayloadError, ImportError):
            cls = None
    if cls is not None and issubclass(cls, BaseException):
        try:
            return cls(message)
        except Exception:  # a constructor that wants other arguments
            pass
    return RestoredError(f"{qualname or name}: {message}")


def dumps(value: Any) -> bytes:
    """`value` as UTF-8 JSON."""
    return json.dumps(encode(value), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=True).encode()


def loads(blob: bytes | str) -> Any:
    """The value `dumps` wrote; raises `UntrustedPayloadError` for anything else."""
    try:
        data = json.loads(blob)
    except ValueError as exc:
        raise UntrustedPayloadError(f"a stored result is not JSON ({exc}); it was written by "
                                    "another serializer or is damaged") from exc
    return decode(data)
