"""Turning uploaded bytes into an image, refusing what is not a complete image."""

from __future__ import annotations

import cv2
import numpy as np

from platehub.engine.imagesize import declared_size, declared_tile

MAX_PIXELS = 60_000_000  # ~ 8K x 7K; larger is refused from the file's header, before decoding


class ImageError(ValueError):
    """The bytes are not a usable image; the message says why."""


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def extension(data: bytes) -> str:
    """The file extension for encoded image bytes ("jpg", "png" …; "bin" when not an image)."""
    kind = sniff(data) or "bin"
    return "jpg" if kind == "jpeg" else kind


def decode(data: bytes) -> np.ndarray:
    """BGR image from encoded bytes (JPEG, PNG, WebP, BMP, TIFF)."""
    if not data:
        raise ImageError("The upload is empty.")
    kind = sniff(data)
    if kind is None:
        raise ImageError("The upload is not a supported image (JPEG, PNG, WebP, BMP or TIFF).")
    if kind == "jpeg" and data.rfind(b"\xff\xd9") < 0:
        raise ImageError("The JPEG image is truncated (no end-of-image marker).")
    if kind == "png" and b"IEND" not in data[-64:]:
        raise ImageError("The PNG image is truncated (no IEND chunk).")
    check_size(data, kind)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise ImageError(f"The {kind.upper()} image could not be decoded.")
    if img.shape[0] * img.shape[1] > MAX_PIXELS:
        raise ImageError(f"The image is too large ({img.shape[1]}x{img.shape[0]} pixels).")
    if min(img.shape[:2]) < 8:
        raise ImageError("The image is too small.")
    return img


def check_size(data: bytes, kind: str) -> None:
    """Refuse, from the header alone, an image too large to decode (a small file can declare a huge
    image: decompression bomb) or too small to read, before the decoder allocates its pixels."""
    size = declared_size(data, kind)
    if size is None:
        raise ImageError(f"The {kind.upper()} image could not be decoded (its header is malformed).")
    width, height = size
    if width * height > MAX_PIXELS:
        raise ImageError(f"The image is too large ({width}x{height} pixels).")
    if min(width, height) < 8:
        raise ImageError("The image is too small.")
    tile = declared_tile(data, kind)
    if tile is not None and tile[0] * tile[1] > MAX_PIXELS:
        raise ImageError(f"The image's tiles are too large ({tile[0]}x{tile[1]} pixels).")


def encode_jpeg(img: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageError("could not encode JPEG")
    return buf.tobytes()
