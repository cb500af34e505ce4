"""Decompression bombs: an image's size is checked from its file header, before it is decoded.

A 124 KB PNG declaring 32000x32000 used to take 6 GB and half a minute to decode before the pixel
limit refused it. These tests need no recognition models (the server gets an engine that finds
nothing) and never decode a bomb: `cv2.imdecode` is replaced by a tripwire."""

from __future__ import annotations

import struct
import time
import tracemalloc
import zlib

import cv2
import httpx
import numpy as np
import pytest
from helpers import InProcess

from platehub.engine import image
from platehub.engine.image import MAX_PIXELS, ImageError, decode
from platehub.engine.imagesize import declared_size

URL = "/v1/plate-reader/"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 32000, height: int = 32000) -> bytes:
    """A valid 1-bit grey PNG of `width` x `height` zero pixels, compressed row by row (small file)."""
    row = bytes(1 + (width + 7) // 8)  # filter byte, packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row * 1000) for _ in range(height // 1000)) + z.compress(row * (height % 1000))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat + z.flush()) + _chunk(b"IEND", b"")


def small(ext: str, params: tuple[int, ...] = (), channels: int = 3) -> bytes:
    img = np.random.default_rng(1).integers(0, 255, (37, 53, channels), np.uint8)
    ok, buf = cv2.imencode(ext, img, list(params))
    assert ok
    return buf.tobytes()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) is patched to declare `width` x `height`."""
    data = bytearray(small(".jpg"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_declaring(width: int, height: int) -> bytes:
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + canvas
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def bmp_declaring(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 24, 1, 0, 2835, 2835, 0, 0)  # BI_RLE8
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


def tiff_declaring(width: int, height: int, tile: int | None = None) -> bytes:
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1)]
    if tile:
        tags += [(322, 4, tile), (323, 4, tile)]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", t, k, 1, v) for t, k, v in tags)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00"


@pytest.fixture
def no_decoding(monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("cv2.imdecode was called on an image larger than the limit")

    monkeypatch.setattr(image.cv2, "imdecode", tripwire)


BOMBS = {
    "png 32000x32000": (png_bomb, "32000x32000"),
    "jpeg 32000x32000": (lambda: jpeg_declaring(32000, 32000), "32000x32000"),
    "jpeg 65535x65535": (lambda: jpeg_declaring(65535, 65535), "65535x65535"),
    "webp 16384x16384": (lambda: webp_declaring(16384, 16384), "16384x16384"),
    "bmp 30000x30000": (lambda: bmp_declaring(30000, 30000), "30000x30000"),
    "tiff 30000x30000": (lambda: tiff_declaring(30000, 30000), "30000x30000"),
}


def test_the_png_bomb_is_a_small_valid_png():
    data = png_bomb()
    assert len(data) < 200_000 and data[12:16] == b"IHDR" and data.endswith(_chunk(b"IEND", b""))
    assert declared_size(data, "png") == (32000, 32000)
    idat = data[33 + 8 : -12 - 4]  # after IHDR and the IDAT length/type, before its CRC and IEND
    assert len(zlib.decompressobj().decompress(idat, 5000)) == 5000  # real zero rows


@pytest.mark.parametrize("name", list(BOMBS))
def test_decode_refuses_a_bomb_from_its_header(no_decoding, name):
    make, size = BOMBS[name]
    data = make()
    tracemalloc.start()
    try:
        with pytest.raises(ImageError, match=f"too large \\({size} pixels\\)"):
            decode(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak  # and the tripwire proves nothing was decoded


def test_decode_refuses_huge_tiff_tiles(no_decoding):
    with pytest.raises(ImageError, match="tiles are too large"):
        decode(tiff_declaring(100, 100, tile=65536))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + _chunk(b"tEXt", b"a\x00b") + _chunk(b"IEND", b""), "PNG image could not be decoded"),
        (b"\xff\xd8" + b"\xff\xe0\x00\x02" * 2000 + b"\xff\xd9", "JPEG image could not be decoded"),
        (b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 50 + b"\xff\xd9", "JPEG image could not be decoded"),
        (jpeg_declaring(4, 4000), "too small"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 10, "WEBP image could not be decoded"),
    ],
    ids=["png without IHDR", "jpeg of 2000 segments", "jpeg scan without frame", "jpeg 4x4000",
         "webp without start code"],
)
def test_decode_refuses_a_malformed_header_without_decoding(no_decoding, data, message):
    with pytest.raises(ImageError, match=message):
        decode(data)


GOOD = {
    "jpeg": small(".jpg"),
    "progressive jpeg": small(".jpg", (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)),
    "png": small(".png"),
    "grey png": small(".png", channels=1),
    "lossy webp": small(".webp", (cv2.IMWRITE_WEBP_QUALITY, 80)),
    "lossless webp": small(".webp", (cv2.IMWRITE_WEBP_QUALITY, 101)),
    "webp with alpha (VP8X)": small(".webp", (cv2.IMWRITE_WEBP_QUALITY, 80), channels=4),
    "bmp": small(".bmp"),
    "tiff": small(".tiff"),
}


@pytest.mark.parametrize("name", list(GOOD))
def test_headers_agree_with_the_decoder(name):
    data = GOOD[name]
    assert declared_size(data, image.sniff(data)) == (53, 37)
    assert decode(data).shape == (37, 53, 3)


def test_the_limit_itself_is_unchanged():
    assert 7000 * 8000 <= MAX_PIXELS < 7800 * 7800


class NoPlates:
    """Stands in for the recognition engine: these tests are about input limits, not reading."""

    def recognize(self, img, options=None):
        return []


@pytest.fixture(scope="module")
def inproc(tmp_path_factory):
    server = InProcess(tmp_path_factory.mktemp("image-limits") / "data", engine=NoPlates())
    yield server.start()
    server.stop()


def test_snapshot_api_answers_400_to_a_bomb_and_keeps_serving(inproc, monkeypatch):
    monkeypatch.setattr(image.cv2, "imdecode", lambda *a: pytest.fail("a bomb reached cv2.imdecode"))
    for data in (png_bomb(), jpeg_declaring(32000, 32000)):
        t0 = time.perf_counter()
        r = httpx.post(inproc.url + URL, files={"upload": ("bomb.img", data)}, timeout=30)
        assert r.status_code == 400, r.text
        assert r.json() == {"detail": "The image is too large (32000x32000 pixels)."}
        assert time.perf_counter() - t0 < 5
    monkeypatch.undo()
    r = httpx.post(inproc.url + URL, files={"upload": ("ok.jpg", small(".jpg"))}, timeout=30)
    assert r.status_code == 200 and r.json()["results"] == []
