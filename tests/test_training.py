"""The plate reader's training code on a handful of images (the real run is `platehub train`,
measured in models/plate_reader.md): labels, rendering, one tiny training run to ONNX."""

from __future__ import annotations

import json
import random
import re

import cv2
import numpy as np
import pytest

from platehub.cli import main
from platehub.engine.plate_reader import ALPHABET, PlateReader
from platehub.training import augment, data, synth


def test_pattern_fill_follows_openalpr_syntax():
    rng = random.Random(1)
    for _ in range(50):
        text = synth.fill("@@#[A-C][HE]?", rng)
        assert re.fullmatch(r"[A-Z]{2}[0-9][ABC][HE][A-Z0-9]", text), text


def test_labels_of_a_users_folder(tmp_path):
    for name in ("AB-123 CD.jpg", "AB123CD_2.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    texts = sorted(s.text for s in data.folder(tmp_path))
    assert texts == ["AB123CD", "AB123CD"]
    (tmp_path / "labels.jsonl").write_text(json.dumps({"file": "AB-123 CD.jpg", "text": "ab 123 cd"}) + "\n")
    assert [(s.file.name, s.text) for s in data.folder(tmp_path)] == [("AB-123 CD.jpg", "AB123CD")]


def test_split_keeps_every_crop_of_a_vehicle_on_one_side(train_data):
    sides: dict[str, set[bool]] = {}
    for s in data.plates_train(train_data):
        sides.setdefault(s.group, set()).add(s.val)
        assert set(s.text) <= set(ALPHABET)
    assert all(len(v) == 1 for v in sides.values())
    share = sum(next(iter(v)) for v in sides.values()) / len(sides)
    assert 0.05 < share < 0.15


@pytest.mark.parametrize("style", ["us", "eu", "eu2", "ua", "br", "mercosur", "cn", "generic"])
def test_every_style_renders_a_plate_with_its_label(style, train_data):
    assets = synth.Assets(train_data / "synth-assets")
    assert style in assets.styles, "the cn style needs Debian's fonts-wqy-microhei (.ci/run installs it)"
    rng = random.Random(7)
    plate = synth.render(style, assets, rng)
    assert plate.image.ndim == 3 and plate.image.shape[0] >= 20
    assert 4 <= len(plate.text) <= 10 and set(plate.text) <= set(ALPHABET)
    assert plate.rows == (2 if style == "eu2" else plate.rows)
    if style == "us":
        assert not set(plate.text) & set("IOQ")
    seen = augment.photometric(augment.place(plate.image, rng), rng)
    assert seen.ndim == 3 and min(seen.shape[:2]) >= 4


def test_a_tiny_training_run_gives_a_model_the_engine_loads(tmp_path, monkeypatch):
    """Four crops named by their text, a few steps: the command writes weights, ONNX and figures."""
    crops = tmp_path / "crops"
    crops.mkdir()
    rng = np.random.default_rng(0)
    for text in ("AB123CD", "XY987ZW", "KA1234AA", "7ABC123"):
        img = np.full((60, 220, 3), 235, np.uint8)
        cv2.putText(img, text, (8, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (20, 20, 20), 3)
        img = np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(crops / f"{text}.jpg"), img)
    out = tmp_path / "out"
    assert main(["train", "--folder", str(crops), "--out", str(out), "--steps", "3", "--batch", "4",
                 "--rendered", "0", "--threads", "1"]) == 0
    assert {p.name for p in out.iterdir()} >= {"plate_reader.onnx", "plate_reader.pt", "validation.json"}
    summary = json.loads((out / "validation.json").read_text())
    assert summary["steps"] == 3 and summary["train_crops"] == 4
    monkeypatch.setattr("platehub.engine.runtime.MODELS", out)
    lines = PlateReader().recognize([cv2.imread(str(crops / "AB123CD.jpg"))] * 2)
    assert len(lines) == 2 and all(0 <= c.prob <= 1 for ln in lines for c in ln.chars)
    # fine-tuning starts from those weights
    assert main(["train", "--folder", str(crops), "--init", str(out / "plate_reader.pt"), "--out",
                 str(tmp_path / "tuned"), "--steps", "2", "--batch", "4", "--rendered", "0", "--threads", "1"]) == 0


def test_train_without_torch_or_data_explains(capsys):
    assert main(["train"]) == 2
    assert "--data" in capsys.readouterr().err


def test_stored_reads_export_as_a_training_folder(tmp_path):
    """`platehub reads --export-crops DIR`: camera reads with a plate crop become labelled crops."""
    from datetime import UTC, datetime

    from platehub.core.read import Read
    from platehub.core.store import Store

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    crop = cv2.imencode(".jpg", np.full((40, 160, 3), 200, np.uint8))[1].tobytes()
    now = datetime.now(UTC)
    store.reads.add([
        Read(plate="AB123CD", plate_raw="AB 123 CD", protocol="allinone", source="CAM-1", score=0.97,
             image_plate=store.images.save("a", crop, now)),
        Read(plate="XY987ZW", plate_raw="XY987ZW", protocol="ffjson", score=0.4,
             image_plate=store.images.save("b", crop, now)),
        Read(plate="KA1234AA", plate_raw="KA1234AA", protocol="push"),  # no crop: nothing to learn from
    ])
    out = tmp_path / "export"
    env = ["--data", str(tmp_path), "--database-url", f"sqlite:///{tmp_path / 'db.sqlite'}"]
    assert main(["reads", *env, "--export-crops", str(out), "--min-score", "0.5"]) == 0
    samples = list(data.folder(out))
    assert [(s.text, s.file.exists()) for s in samples] == [("AB123CD", True)]
    assert cv2.imread(str(samples[0].file)).shape == (40, 160, 3)


def test_pseudo_labels_only_where_the_readings_agree(tmp_path):
    rows = [{"file": f"crops/{n}.jpg", "text": None, "rows": None, "country": "pl", "kind": "unlabelled",
             "source": "s", "licence": "AGPL-3.0", **extra} for n, extra in
            (("agree", {}), ("differ", {}), ("weak", {}), ("hint", {"hint": "wx12345"}), ("short", {}),
                             ("two", {}), ("outvoted", {}))]
    (tmp_path / "crops.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    reads = {"agree": [("WX12345", 0.97), ("WX12345", 0.95)], "differ": [("WX12345", 0.97), ("WX1234S", 0.96)],
             "weak": [("WX12345", 0.97), ("WX12345", 0.5)], "hint": [("WX12346", 0.99), ("WX12346", 0.99)],
             "short": [("WX1", 0.99), ("WX1", 0.99)],
             "two": [("WX12345", 0.97), ("WX1234S", 0.3), ("WX12345", 0.95)],  # two sure, one unsure
             "outvoted": [("WX12345", 0.97), ("WX1234S", 0.93), ("WX12345", 0.95)]}  # a sure one disagrees
    out = tmp_path / "pseudo.jsonl"
    assert data.pseudo_label(tmp_path, out, lambda f: reads[f.stem]) == 2
    assert [(s.file.stem, s.text) for s in data.pseudo(tmp_path, out)] == [("agree", "WX12345"), ("two", "WX12345")]
