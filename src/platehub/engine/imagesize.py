"""The pixel size an image file declares in its header, read without decoding it.

`image.decode` checks it before handing the bytes to the decoder, so a small file that declares a
huge image (a decompression bomb: a 124 KB PNG of 32000x32000 zero rows takes gigabytes to decode)
is refused before any pixel memory is allocated. Each reader follows its decoder: the first frame
header of a JPEG (libjpeg's marker walk), PNG's IHDR, the WebP VP8/VP8L/VP8X header, the BMP info
header, the first TIFF directory (with its tile size, which the TIFF decoder allocates per tile)."""

from __future__ import annotations

import re

# JPEG start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# markers without a length: TEM, RST0-7, SOI
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})
_FILL = re.compile(rb"\xff+")  # a marker's 0xFF and the fill bytes before it
_MAX_SEGMENTS = 1000  # before the frame header (an ICC profile may take up to 255 APP2 segments)


def declared_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """(width, height) from the header of a `kind` file (image.sniff's names); None when the header
    is missing, truncated or malformed, which the decoder could not read either."""
    reader = _READERS.get(kind)
    try:
        return reader(data) if reader else None
    except IndexError:  # truncated header
        return None


def declared_tile(data: bytes, kind: str) -> tuple[int, int] | None:
    """(width, height) of a tiled TIFF's tiles, which its decoder allocates one at a time."""
    if kind != "tiff":
        return None
    try:
        tags = _tiff_tags(data, (322, 323))
    except IndexError:
        return None
    return (tags[322], tags[323]) if 322 in tags and 323 in tags else None


def _u16(data: bytes, at: int, order: str = "big") -> int:
    if at + 2 > len(data):
        raise IndexError(at)
    return int.from_bytes(data[at : at + 2], order)


def _u32(data: bytes, at: int, order: str = "big", signed: bool = False) -> int:
    if at + 4 > len(data):
        raise IndexError(at)
    return int.from_bytes(data[at : at + 4], order, signed=signed)


def _jpeg(data: bytes) -> tuple[int, int] | None:
    """The first SOFn segment, walking the markers as libjpeg does: bytes other than 0xFF between
    segments are skipped, fill bytes (0xFF) before a marker too, and each segment's length is used.
    A photo has a handful of segments before its frame header; more than `_MAX_SEGMENTS` is refused."""
    i = 2  # after SOI
    for _ in range(_MAX_SEGMENTS):
        i = data.find(b"\xff", i)
        if i < 0:
            return None
        i = _FILL.match(data, i).end()
        if i >= len(data):
            return None
        marker = data[i]
        i += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # EOI, or the scan starts: no frame header before it
            return None
        length = _u16(data, i)
        if marker in _SOF:
            if length < 8:
                return None
            return _u16(data, i + 5), _u16(data, i + 3)  # length, precision, height, width
        if length < 2:
            return None
        i += length
    return None


def _png(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":  # libpng requires IHDR first
        return None
    return _u32(data, 16), _u32(data, 20)


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: frame tag (3 bytes), start code, 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        return _u16(data, 26, "little") & 0x3FFF, _u16(data, 28, "little") & 0x3FFF
    if chunk == b"VP8L":  # lossless: signature byte, then 14 bits of width-1 and 14 of height-1
        if data[20:21] != b"\x2f":
            return None
        bits = _u32(data, 21, "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: the canvas, 24 bits each of width-1 and height-1
        if len(data) < 30:
            return None
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    header = _u32(data, 14, "little")
    if header == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        return _u16(data, 18, "little"), _u16(data, 20, "little")
    if header < 16:
        return None
    # BITMAPINFOHEADER and its successors: signed 32-bit sizes, a negative height is top-down
    return abs(_u32(data, 18, "little", signed=True)), abs(_u32(data, 22, "little", signed=True))


def _tiff_tags(data: bytes, wanted: tuple[int, ...]) -> dict[int, int]:
    """SHORT or LONG values of the `wanted` tags in the first image directory."""
    order = "little" if data[:2] == b"II" else "big"
    ifd = _u32(data, 4, order)
    found = {}
    for n in range(_u16(data, ifd, order)):
        entry = ifd + 2 + 12 * n
        tag, kind = _u16(data, entry, order), _u16(data, entry + 2, order)
        if tag in wanted and kind in (3, 4):
            found[tag] = _u16(data, entry + 8, order) if kind == 3 else _u32(data, entry + 8, order)
    return found


def _tiff(data: bytes) -> tuple[int, int] | None:
    tags = _tiff_tags(data, (256, 257))  # ImageWidth, ImageLength
    return (tags[256], tags[257]) if 256 in tags and 257 in tags else None


_READERS = {"jpeg": _jpeg, "png": _png, "webp": _webp, "bmp": _bmp, "tiff": _tiff}
