"""JSON bytes to keep: orjson's output carries kilobytes of spare capacity, so copy it tight."""

from typing import Any

import orjson


def kept_json(obj: Any, option: int | None = None) -> bytes:
    """Serialize `obj` into a bytes object no larger than its content."""
    return memoryview(orjson.dumps(obj, option=option)).tobytes()


def kept_bytes(data: bytes | memoryview) -> bytes:
    return memoryview(data).tobytes()
