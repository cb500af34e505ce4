"""Image → plate reads. A detector and an OCR behind two small interfaces, plus plate rules.

    from platehub.engine import Engine, EngineOptions
    engine = Engine.load()
    plates = engine.recognize(image_bgr, EngineOptions(regions=("ua",)))

The records (types.py) load without numpy, OpenCV or ONNX Runtime: the domain (core/read.py) uses them.
`Engine` (pipeline.py) loads those on first use of the name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from platehub.engine.types import EngineOptions, PlateResult

if TYPE_CHECKING:
    from platehub.engine.pipeline import Engine

__all__ = ["Engine", "EngineOptions", "PlateResult"]


def __getattr__(name: str):
    if name == "Engine":
        from platehub.engine.pipeline import Engine

        return Engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
