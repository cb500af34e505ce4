"""Bus payloads as JSON, for the bus between processes (core/relay.py).

The payloads are platehub's frozen dataclasses (a `Read`, a `LogEntry`, a `CountChange` …) holding plain
values, datetimes, tuples, dicts and other such dataclasses. `dumps` writes them as JSON with small tags
for what JSON lacks (`{"$c": "platehub.core.read:Read", "f": {…}}`, `{"$dt": …}`, `{"$t": […]}`), and
`loads` builds them again. Not pickle: a message from Redis can only make dataclasses of platehub's own
modules from plain values, never run code, so write access to the Redis is no way into the server.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

PACKAGE = "platehub."


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return {"$t": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only dicts with text keys cross processes")
        return {"$d": {k: _encode(v) for k, v in value.items()}}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    if isinstance(value, Path):
        return {"$p": str(value)}
    cls = type(value)
    if dataclasses.is_dataclass(value) and cls.__module__.startswith(PACKAGE):
        return {"$c": f"{cls.__module__}:{cls.__qualname__}",
                "f": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}}
    raise TypeError(f"a {cls.__name__} cannot cross processes")


def _class(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not module.startswith(PACKAGE) or "." in qualname:
        raise ValueError(f"not a platehub record: {name}")
    cls = getattr(sys.modules.get(module), qualname, None)  # a module this process has loaded: no import
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ValueError(f"not a platehub record: {name}")
    return cls


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$c" in value:
        return _class(value["$c"])(**{k: _decode(v) for k, v in value["f"].items()})
    if "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$t" in value:
        return tuple(_decode(v) for v in value["$t"])
    if "$d" in value:
        return {k: _decode(v) for k, v in value["$d"].items()}
    if "$b" in value:
        return base64.b64decode(value["$b"])
    if "$p" in value:
        return Path(value["$p"])
    raise ValueError(f"unknown tag in {sorted(value)}")


def dumps(payload: Any) -> str:
    """JSON of a bus payload; TypeError for one that cannot cross processes."""
    return json.dumps(_encode(payload), separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """The payload `dumps` wrote; ValueError for a message that is not one."""
    try:
        return _decode(json.loads(text))
    except (TypeError, KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"not a bus payload: {e}") from None
