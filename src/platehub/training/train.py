"""`platehub train`: train the plate reader from scratch, or fine-tune it on a site's own crops.

From scratch (the shipped model; 2 CPU cores, see models/plate_reader.md for the time):

    platehub train --data ../shared/data/plates-train --out build/plate-reader

Fine-tuning the shipped model on your labelled crops (a folder of images named by their text, or
with a labels.jsonl), mixed with rendered plates so it does not forget the rest:

    platehub train --init src/platehub/models/plate_reader.pt --folder my-crops --steps 2000 --lr 5e-4

Each batch mixes rendered plates (`synth.py`) and real crops, both through `augment.py`.
Validation: the held-out vehicles of every real source, and rendered plates of every style.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from platehub.engine.ctc import decode
from platehub.engine.plate_reader import ALPHABET, prepare
from platehub.training import augment, data, synth
from platehub.training.model import PlateNet

STYLE_WEIGHTS = {"us": 0.30, "eu": 0.16, "eu2": 0.10, "ua": 0.06, "br": 0.05, "mercosur": 0.08, "cn": 0.10,
                 "generic": 0.15}


@dataclass
class Config:
    data: Path | None  # plates-train
    folders: list[Path] = field(default_factory=list)
    pseudo: Path | None = None
    out: Path = Path("build/plate-reader")
    init: Path | None = None
    steps: int = 5500
    batch: int = 64
    lr: float = 2e-3
    synth_share: float = 0.5
    seed: int = 20261202
    threads: int = 2
    val_synth: int = 150  # rendered validation plates per style
    rendered: int = 30000  # plates rendered once, augmented anew at every use


class Mixture:
    """Training samples: rendered plates and real crops, augmented; deterministic per seed."""

    def __init__(self, samples: list[data.Sample], rendered: list[tuple[np.ndarray, str]], synth_share: float,
                 backgrounds: list[np.ndarray], seed: int) -> None:
        self.rng = random.Random(seed)
        self.rendered = rendered
        self.synth_share = synth_share if rendered else 0.0
        self.backgrounds = backgrounds
        by_source: dict[str, list[data.Sample]] = defaultdict(list)
        for s in samples:
            by_source[f"{s.source}/{s.country}/{s.kind}"].append(s)
        self.groups = list(by_source.values())
        self.group_weights = [len(g) ** 0.5 for g in self.groups]
        self.images: dict[Path, np.ndarray] = {}
        for s in samples:
            img = cv2.imread(str(s.file))
            if img is not None:
                self.images[s.file] = img
        if not self.images:
            self.synth_share = 1.0 if rendered else 0.0

    def one(self) -> tuple[np.ndarray, str]:
        rng = self.rng
        if rng.random() < self.synth_share:
            image, text = rng.choice(self.rendered)
            bg = self._background(rng) if rng.random() < 0.7 else None
            return augment.photometric(augment.place(image, rng, bg), rng), text
        # real crops: a group (source, country, kind) drawn with weight √size — a group of 2,000 crops
        # must not drown one of 150, nor may a group of 3 pseudo-labels be seen as often as either
        while True:
            s = rng.choice(rng.choices(self.groups, self.group_weights)[0])
            if s.file in self.images:
                img = self.images[s.file]
                if self.backgrounds and rng.random() < 0.4:  # in a scene, cut out by a looser box
                    img = augment.place(img, rng, self._background(rng), skew=0.5)
                else:
                    img = augment.jitter_crop(img, rng)
                return augment.photometric(img, rng, strength=0.6), s.text

    def _background(self, rng: random.Random) -> np.ndarray | None:
        """A piece of a real scene (cars, streets) to put a plate in."""
        if not self.backgrounds:
            return None
        bg = rng.choice(self.backgrounds)
        y, x = rng.randint(0, max(0, bg.shape[0] - 40)), rng.randint(0, max(0, bg.shape[1] - 80))
        return bg[y:, x:]

    def batch(self, n: int) -> tuple[torch.Tensor, list[str]]:
        items = [self.one() for _ in range(n)]
        x = torch.from_numpy(np.stack([prepare(img) for img, _ in items]))
        return x, [t for _, t in items]


class Batches(torch.utils.data.IterableDataset):
    """Batches made in a worker process while the main process trains."""

    def __init__(self, mixture: Mixture, size: int, count: int) -> None:
        self.mixture, self.size, self.count = mixture, size, count

    def __iter__(self):
        for _ in range(self.count):
            yield self.mixture.batch(self.size)


def encode(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    index = {c: i + 1 for i, c in enumerate(ALPHABET)}
    flat = [index[c] for t in texts for c in t if c in index]
    lengths = [sum(1 for c in t if c in index) for t in texts]
    return torch.tensor(flat, dtype=torch.long), torch.tensor(lengths, dtype=torch.long)


def load_backgrounds(root: Path, limit: int = 300) -> list[np.ndarray]:
    files = sorted((root / "scenes").rglob("*.jpg"))[:limit] if root and (root / "scenes").exists() else []
    return [img for img in (cv2.imread(str(f)) for f in files) if img is not None]


def gather(cfg: Config) -> list[data.Sample]:
    samples: list[data.Sample] = []
    if cfg.data:
        samples += list(data.plates_train(cfg.data))
        pseudo = cfg.pseudo or cfg.out / "pseudo.jsonl"
        samples += list(data.pseudo(cfg.data, pseudo))
    for f in cfg.folders:
        samples += list(data.folder(f))
    return samples


def read_texts(model: nn.Module, images: list[np.ndarray]) -> list[tuple[str, float]]:
    out = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(images), 128):
            x = torch.from_numpy(np.stack([prepare(img) for img in images[i : i + 128]]))
            for p in model(x).exp().numpy():
                line = decode(p, ALPHABET, rows=2)
                out.append((line.text, min((c.prob for c in line.chars), default=0.0)))
    model.train()
    return out


def validate(model: nn.Module, val: list[data.Sample], assets: synth.Assets | None, per_style: int,
             seed: int) -> dict[str, dict[str, float]]:
    """Exact-read rate per source/country of the held-out vehicles, and per rendered style."""
    groups: dict[str, list[tuple[np.ndarray, str]]] = defaultdict(list)
    for s in val:
        img = cv2.imread(str(s.file))
        if img is not None:
            groups[f"{s.source} {s.country or '-'} {s.kind}"].append((img, s.text))
    if assets:
        rng = random.Random(seed)
        for style in assets.styles:
            for _ in range(per_style):
                plate = synth.render(style, assets, rng)
                groups[f"rendered {style}"].append((augment.photometric(augment.place(plate.image, rng), rng),
                                                   plate.text))
    report = {}
    for name, items in sorted(groups.items()):
        reads = read_texts(model, [img for img, _ in items])
        exact = sum(r == t for (r, _), (_, t) in zip(reads, items))
        report[name] = {"n": len(items), "exact": round(exact / len(items), 4)}
    return report


def export(model: nn.Module, path: Path, meta: dict[str, str]) -> None:
    import onnx

    from platehub.engine.plate_reader import HEIGHT, WIDTH

    model.eval()
    dummy = torch.zeros(1, 1, HEIGHT, WIDTH)
    torch.onnx.export(model, dummy, str(path), input_names=["x"], output_names=["logp"],
                      dynamic_axes={"x": {0: "n"}, "logp": {0: "n"}}, opset_version=17, dynamo=False)
    m = onnx.load(str(path))
    for k, v in {"alphabet": json.dumps(ALPHABET, ensure_ascii=False), **meta}.items():
        entry = m.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(m, str(path))


def progress(step: int, total: int, loss: float, started: float) -> None:
    done = step / total
    elapsed = time.time() - started
    eta = elapsed / done - elapsed if done else 0
    bar = "#" * int(30 * done) + "-" * (30 - int(30 * done))
    sys.stderr.write(f"\r[{bar}] {step}/{total} loss {loss:.3f} {elapsed / 60:.1f} min, ~{eta / 60:.1f} min left")
    sys.stderr.flush()


def train(cfg: Config) -> dict:
    random.seed(cfg.seed)
    np.random.seed(cfg.seed % 2**32)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    cv2.setNumThreads(1)
    cfg.out.mkdir(parents=True, exist_ok=True)
    assets = synth.Assets(cfg.data / "synth-assets") if cfg.data else None
    samples = gather(cfg)
    train_set = [s for s in samples if not s.val or s.kind == "user"]
    val_set = [s for s in samples if s.val and s.kind != "user"]
    rendered = []
    if assets and cfg.rendered:
        print(f"rendering {cfg.rendered} plates ...", file=sys.stderr)
        rendered = synth.bank(cfg.data / "synth-assets", cfg.rendered, cfg.seed, STYLE_WEIGHTS, cfg.threads)
    mix = Mixture(train_set, rendered, cfg.synth_share, load_backgrounds(cfg.data) if cfg.data else [], cfg.seed)
    print(f"training on {len(train_set)} crops ({len(mix.groups)} source groups) + {len(rendered)} rendered plates"
          f"; validating on {len(val_set)} held-out crops", file=sys.stderr)
    loader = torch.utils.data.DataLoader(Batches(mix, cfg.batch, cfg.steps), batch_size=None, num_workers=1,
                                         prefetch_factor=4)
    model = PlateNet(len(ALPHABET) + 1)
    if cfg.init:
        model.load_state_dict(torch.load(cfg.init, map_location="cpu"))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(1, cfg.steps), pct_start=0.1)
    ctc = nn.CTCLoss(zero_infinity=True)
    started, avg = time.time(), None
    model.train()
    for step, (x, texts) in enumerate(loader, 1):
        targets, lengths = encode(texts)
        logp = model(x)
        steps = torch.full((x.shape[0],), logp.shape[1], dtype=torch.long)
        loss = ctc(logp.permute(1, 0, 2), targets, steps, lengths)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        value = float(loss) if math.isfinite(float(loss)) else 0.0
        avg = value if avg is None else 0.98 * avg + 0.02 * value
        if step % 10 == 0 or step == cfg.steps:
            progress(step, cfg.steps, avg, started)
        if step % 1000 == 0:
            torch.save(model.state_dict(), cfg.out / "plate_reader.pt")
    sys.stderr.write("\n")
    torch.save(model.state_dict(), cfg.out / "plate_reader.pt")
    report = validate(model, val_set, assets, cfg.val_synth, cfg.seed + 1)
    minutes = round((time.time() - started) / 60, 1)
    export(model, cfg.out / "plate_reader.onnx", {"steps": str(cfg.steps), "seed": str(cfg.seed),
                                                   "minutes": str(minutes)})
    summary = {"steps": cfg.steps, "batch": cfg.batch, "seed": cfg.seed, "minutes": minutes,
               "train_crops": len(train_set), "val_crops": len(val_set), "validation": report}
    (cfg.out / "validation.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
