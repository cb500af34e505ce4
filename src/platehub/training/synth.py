"""Rendered plates for training the plate reader: text of a country's format drawn on a plate of
its style, then seen as a camera would see it (`augment`).

Styles: US serials on the real blank state plates (`synth-assets/openalpr/keypoints/us`, patterns
per state from `postprocess/us.patterns`), EU one-row and two-row plates with the blue band (patterns
per country from `postprocess/eu.patterns`), Ukrainian plates, Brazilian grey (old) and Mercosur
plates, Chinese blue/yellow/green plates (a CJK font from Debian's `fonts-wqy-microhei` when
installed) and generic plates of random colours. Labels are upper-case A-Z 0-9 (plus the Chinese
plate characters), rows top to bottom, without separators, as in `plates-train/crops.jsonl`.

US serials: most states do not issue the letters I, O and Q (they read as 1 and 0), so US
serials are drawn without them; a glyph that looks like 0 on a US plate is labelled 0.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from platehub.engine.ocr import CN_PROVINCES

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
US_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O
LATIN_FONTS = (
    "fonts/GL-Nummernschild-Eng.ttf",
    "fonts/GL-Nummernschild-Mtl.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerifCondensed-Bold.ttf",
)
CJK_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",)


@dataclass(frozen=True)
class Plate:
    image: np.ndarray  # BGR, the plate alone (its edges are the plate's edges)
    text: str
    rows: int
    style: str


class Assets:
    """Fonts, blank plates and patterns from `plates-train/synth-assets`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        fonts = [root / f if not f.startswith("/") else Path(f) for f in LATIN_FONTS]
        self.latin_fonts = [str(f) for f in fonts if f.exists()]
        self.eu_fonts = [str(f) for f in fonts[:2] if f.exists()] or self.latin_fonts
        self.cjk_fonts = [f for f in CJK_FONTS if Path(f).exists()]
        self.us_blanks = sorted((root / "openalpr/keypoints/us").glob("*.jpg"))
        self.us_patterns = _patterns(root / "openalpr/postprocess/us.patterns")
        self.eu_patterns = _patterns(root / "openalpr/postprocess/eu.patterns")
        self.br_patterns = _patterns(root / "openalpr/postprocess/br.patterns")

    @property
    def styles(self) -> tuple[str, ...]:
        out = ["eu", "eu2", "ua", "br", "mercosur", "generic"]
        if self.us_blanks and self.us_patterns:
            out.append("us")
        if self.cjk_fonts:
            out.append("cn")
        return tuple(out)


def _patterns(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            out.setdefault(parts[0].lower(), []).append(parts[1])
    return out


def fill(pattern: str, rng: random.Random, letters: str = LETTERS) -> str:
    """A random text for an openalpr pattern (`@` letter, `#` digit, `[A-F]` a class, `?` any)."""
    out = []
    for token in re.findall(r"\[[^\]]+\]|.", pattern):
        if token == "@":
            out.append(rng.choice(letters))
        elif token == "#":
            out.append(rng.choice(DIGITS))
        elif token == "?":
            out.append(rng.choice(letters + DIGITS))
        elif token.startswith("["):
            body = token[1:-1]
            chars = "".join(
                "".join(chr(c) for c in range(ord(m[0]), ord(m[2]) + 1)) if len(m) == 3 else m
                for m in re.findall(r".-.|.", body)
            )
            out.append(rng.choice(chars) if chars else rng.choice(letters))
        elif token.isalnum():
            out.append(token.upper())
    return "".join(out)


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _text_image(text: str, font: str, height: int, color: tuple[int, int, int], gap: float = 0.0,
                cjk_font: str | None = None) -> Image.Image:
    """Text drawn tightly (its ink box) with transparent background, cap height ≈ `height`."""
    size = int(height * 1.35)
    pieces = []
    for ch in text:
        f = _font(cjk_font if cjk_font and ord(ch) > 0x2FFF else font, size)
        x0, _, x1, _ = f.getbbox(ch)
        w = max(1, x1 - x0) if ch != " " else size // 3
        im = Image.new("L", (w + 2, size * 2), 0)
        if ch != " ":
            ImageDraw.Draw(im).text((1 - x0, size // 2), ch, font=f, fill=255)
        pieces.append(im)
    spacing = int(gap * height)
    total = sum(p.width for p in pieces) + spacing * (len(pieces) - 1)
    mask = Image.new("L", (max(1, total), size * 2), 0)
    x = 0
    for p in pieces:
        mask.paste(p, (x, 0))
        x += p.width + spacing
    bbox = mask.getbbox() or (0, 0, 1, 1)
    mask = mask.crop((0, bbox[1], mask.width, bbox[3]))
    scale = height / max(1, mask.height)
    mask = mask.resize((max(1, int(mask.width * scale)), height), Image.BILINEAR)
    out = Image.new("RGBA", mask.size, (*color, 0))
    out.putalpha(mask)
    return out


def _draw_rows(plate: Image.Image, rows: list[str], box: tuple[float, float, float, float], font: str,
               color: tuple[int, int, int], rng: random.Random, cjk_font: str | None = None,
               row_scale: tuple[float, ...] = ()) -> None:
    """Draw text rows centred in box (fractions x1, y1, x2, y2 of the plate), squeezed to fit."""
    w, h = plate.size
    x1, y1, x2, y2 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    n = len(rows)
    band = (y2 - y1) / n
    for i, text in enumerate(rows):
        scale = row_scale[i] if i < len(row_scale) else 1.0
        height = max(6, int(band * rng.uniform(0.72, 0.86) * scale))
        img = _text_image(text, font, height, color, gap=rng.uniform(0.02, 0.15), cjk_font=cjk_font)
        max_w = int((x2 - x1) * rng.uniform(0.85, 0.98))
        if img.width > max_w:
            img = img.resize((max_w, img.height), Image.BILINEAR)
        elif rng.random() < 0.5:
            img = img.resize((min(max_w, int(img.width * rng.uniform(1.0, 1.25))), img.height), Image.BILINEAR)
        cx = (x1 + x2) / 2 + rng.uniform(-0.03, 0.03) * w
        cy = y1 + band * (i + 0.5) + rng.uniform(-0.04, 0.04) * band
        plate.alpha_composite(img, (int(max(0, cx - img.width / 2)), int(max(0, cy - img.height / 2))))


def _dark(rng: random.Random) -> tuple[int, int, int]:
    return rng.choice([(15, 15, 15), (25, 25, 90), (110, 20, 20), (20, 70, 30), (40, 40, 40), (10, 30, 70)])


def _blank(w: int, h: int, color: tuple[int, int, int], rng: random.Random) -> Image.Image:
    jitter = [int(np.clip(c + rng.randint(-20, 20), 0, 255)) for c in color]
    plate = Image.new("RGBA", (w, h), (*jitter, 255))
    if rng.random() < 0.7:
        d = ImageDraw.Draw(plate)
        t = max(1, h // 40)
        d.rounded_rectangle((t, t, w - t - 1, h - t - 1), radius=h // 12, outline=(20, 20, 20, 255), width=t)
    return plate


def _eu_band(plate: Image.Image, rng: random.Random, code: str, top: bool = False) -> float:
    """The blue EU band with stars and the country code; returns the text's left edge (fraction)."""
    w, h = plate.size
    d = ImageDraw.Draw(plate)
    bw = int(h * 0.42) if not top else int(w * 0.14)
    d.rectangle((0, 0, bw, h if not top else int(h * 0.5)), fill=(20, 50, 160, 255))
    cx, cy, r = bw / 2, h * (0.3 if not top else 0.16), bw * 0.3
    for k in range(12):
        a = k * np.pi / 6
        x, y = cx + r * np.cos(a), cy + r * np.sin(a)
        d.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=(240, 210, 30, 255))
    font = _font("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", max(6, int(bw * 0.45))) \
        if Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf").exists() else None
    if font is not None:
        d.text((bw * 0.15, h * (0.6 if not top else 0.3)), code.upper()[:3], font=font, fill=(255, 255, 255, 255))
    return bw / w + 0.02


def render(style: str, assets: Assets, rng: random.Random) -> Plate:
    font = rng.choice(assets.latin_fonts)
    if style == "us":
        blank = rng.choice(assets.us_blanks)
        state = re.sub(r"\d.*$", "", blank.stem)
        patterns = assets.us_patterns.get(state) or assets.us_patterns.get("base") or ["@@@####"]
        text = fill(rng.choice(patterns), rng, US_LETTERS)
        bgr = cv2.imread(str(blank))
        plate = Image.fromarray(cv2.cvtColor(cv2.resize(bgr, (240, 120)), cv2.COLOR_BGR2RGB)).convert("RGBA")
        shown = text
        if len(text) >= 5 and rng.random() < 0.35:
            cut = rng.randint(2, len(text) - 2)
            shown = text[:cut] + rng.choice(" -") + text[cut:]
        _draw_rows(plate, [shown], (0.06, 0.26, 0.94, 0.8), font, _dark(rng), rng)
        return Plate(_bgr(plate), text, 1, style)
    if style in ("eu", "eu2"):
        country = rng.choice([c for c in assets.eu_patterns if c != "base"] or ["de"])
        text = fill(rng.choice(assets.eu_patterns.get(country, ["@@###@@"])), rng)
        yellow = country in ("nl", "gb", "lu") and rng.random() < 0.5
        if style == "eu":
            plate = _blank(520, 112, (235, 200, 30) if yellow else (240, 240, 240), rng)
            left = _eu_band(plate, rng, country) if rng.random() < 0.85 else 0.04
            shown = _spaced(text, rng)
            _draw_rows(plate, [shown], (left, 0.1, 0.97, 0.92), rng.choice(assets.eu_fonts), (15, 15, 15), rng)
            return Plate(_bgr(plate), text, 1, style)
        cut = rng.randint(max(1, len(text) // 2 - 1), min(len(text) - 1, len(text) // 2 + 1))
        plate = _blank(280, 200, (235, 200, 30) if yellow else (240, 240, 240), rng)
        left = _eu_band(plate, rng, country, top=True) if rng.random() < 0.6 else 0.04
        _draw_rows(plate, [text[:cut], text[cut:]], (left, 0.06, 0.96, 0.95), rng.choice(assets.eu_fonts),
                   (15, 15, 15), rng)
        return Plate(_bgr(plate), text, 2, style)
    if style == "ua" and rng.random() < 0.3:  # square two-row plates: digits on top, series below
        top, bottom = fill(rng.choice(["#####", "####", "##@@"]), rng, "ABCEHIKMOPTX"), fill("@@", rng, "ABCEHIKMOPTX")
        plate = _blank(280, 200, (240, 240, 240), rng)
        _draw_rows(plate, [top, bottom], (0.05, 0.06, 0.95, 0.95), rng.choice(assets.eu_fonts), (15, 15, 15), rng,
                   row_scale=(1.0, rng.uniform(0.75, 1.0)))
        return Plate(_bgr(plate), top + bottom, 2, style)
    if style == "ua":
        text = fill("@@####@@", rng, "ABCEHIKMOPTX")
        plate = _blank(520, 112, (240, 240, 240), rng)
        d = ImageDraw.Draw(plate)
        d.rectangle((0, 0, 48, 56), fill=(30, 80, 190, 255))
        d.rectangle((0, 56, 48, 112), fill=(245, 210, 20, 255))
        _draw_rows(plate, [_spaced(text, rng)], (0.11, 0.1, 0.97, 0.92), rng.choice(assets.eu_fonts), (15, 15, 15), rng)
        return Plate(_bgr(plate), text, 1, style)
    if style == "br":
        text = fill("@@@####", rng)
        plate = _blank(400, 130, (200, 200, 200) if rng.random() < 0.8 else (170, 30, 30), rng)
        color = (20, 20, 20) if plate.getpixel((60, 60))[0] > 180 else (235, 235, 235)
        small = _text_image(fill("@@ - @@@@@@@@", rng), font, 14, color)
        plate.alpha_composite(small, (max(0, 200 - small.width // 2), 6))
        _draw_rows(plate, [text[:3] + "-" + text[3:]], (0.04, 0.25, 0.96, 0.97), font, color, rng)
        return Plate(_bgr(plate), text, 1, style)
    if style == "mercosur":
        text = fill("@@@#@##", rng)
        plate = _blank(400, 130, (245, 245, 245), rng)
        ImageDraw.Draw(plate).rectangle((0, 0, 400, 28), fill=(20, 60, 170, 255))
        band = _text_image("BRASIL", font, 14, (255, 255, 255))
        plate.alpha_composite(band, (200 - band.width // 2, 7))
        _draw_rows(plate, [text], (0.04, 0.26, 0.96, 0.96), rng.choice(assets.eu_fonts), (15, 15, 15), rng)
        return Plate(_bgr(plate), text, 1, style)
    if style == "cn":
        province = rng.choice(CN_PROVINCES)
        kind = rng.random()
        tail = "".join(rng.choice(CN_LETTERS + DIGITS * 3) for _ in range(5 if kind < 0.85 else 6))
        text = province + rng.choice(CN_LETTERS) + tail
        if kind < 0.65:
            bg, fg = (20, 70, 200), (245, 245, 245)
        elif kind < 0.85:
            bg, fg = (235, 190, 20), (15, 15, 15)
        else:
            bg, fg = (150, 220, 160), (15, 15, 15)
        plate = _blank(440, 140, bg, rng)
        _draw_rows(plate, [text[:2] + "·" + text[2:]], (0.04, 0.1, 0.96, 0.92), font, fg, rng,
                   cjk_font=rng.choice(assets.cjk_fonts))
        return Plate(_bgr(plate), text, 1, style)
    # generic: any colours, 4-8 characters, sometimes two rows
    n = rng.randint(4, 8)
    text = "".join(rng.choice(LETTERS + DIGITS) for _ in range(n))
    dark_bg = rng.random() < 0.25
    bg = tuple(rng.randint(0, 80) for _ in range(3)) if dark_bg else tuple(rng.randint(170, 255) for _ in range(3))
    fg = tuple(rng.randint(200, 255) for _ in range(3)) if dark_bg else _dark(rng)
    if rng.random() < 0.2 and n >= 5:
        plate = _blank(300, 200, bg, rng)
        cut = n // 2
        _draw_rows(plate, [text[:cut], text[cut:]], (0.05, 0.06, 0.95, 0.95), font, fg, rng)
        return Plate(_bgr(plate), text, 2, style)
    plate = _blank(rng.randint(300, 520), 112, bg, rng)
    _draw_rows(plate, [_spaced(text, rng)], (0.05, 0.1, 0.95, 0.92), font, fg, rng)
    return Plate(_bgr(plate), text, 1, style)


def _spaced(text: str, rng: random.Random) -> str:
    if len(text) < 5 or rng.random() < 0.4:
        return text
    cut = rng.randint(2, len(text) - 2)
    return text[:cut] + rng.choice("  -") + text[cut:]


def _bgr(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2BGR)


def _bank_chunk(args: tuple[Path, int, int, tuple[str, ...], tuple[float, ...], int]) -> list[tuple[np.ndarray, str]]:
    root, n, seed, styles, weights, max_width = args
    assets, rng = Assets(root), random.Random(seed)
    out = []
    for _ in range(n):
        plate = render(rng.choices(styles, weights)[0], assets, rng)
        img = plate.image
        if img.shape[1] > max_width:
            img = cv2.resize(img, (max_width, max(4, int(img.shape[0] * max_width / img.shape[1]))),
                             interpolation=cv2.INTER_AREA)
        out.append((img, plate.text))
    return out


def bank(root: Path, n: int, seed: int, weights: dict[str, float], processes: int = 2,
         max_width: int = 200) -> list[tuple[np.ndarray, str]]:
    """`n` rendered plates (styles drawn by weight), made once and augmented anew at every use;
    deterministic for a seed whatever the number of processes."""
    from multiprocessing import Pool

    styles = tuple(s for s in weights if s in Assets(root).styles)
    chunk = 500
    jobs = [(root, min(chunk, n - i), seed + i, styles, tuple(weights[s] for s in styles), max_width)
            for i in range(0, n, chunk)]
    if processes <= 1 or len(jobs) == 1:
        return [p for job in jobs for p in _bank_chunk(job)]
    with Pool(processes) as pool:
        return [p for part in pool.imap(_bank_chunk, jobs) for p in part]
