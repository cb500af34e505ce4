"""Image → plate reads. A detector and an OCR behind two small interfaces, plus plate rules.

    from platehub.engine import Engine, EngineOptions
    engine = Engine.load()
    plates = engine.recognize(image_bgr, EngineOptions(regions=("ua",)))
"""

from platehub.engine.pipeline import Engine
from platehub.engine.types import EngineOptions, PlateResult

__all__ = ["Engine", "EngineOptions", "PlateResult"]
