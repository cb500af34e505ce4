"""`platehub train`: hooked into `platehub` by cli/__init__.py. torch is imported only when the command runs
(`pip install platehub[train]`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "train", help="train the plate reader (from scratch, or fine-tune on your own crops)",
        description="Train platehub's plate reader on plates-train, rendered plates and your own labelled crops "
        "(a folder of images named by their text, or with a labels.jsonl). Writes plate_reader.onnx, "
        "plate_reader.pt and validation.json to --out. Needs torch (pip install 'platehub[train]').")
    t.add_argument("--data", type=Path, help="the plates-train folder (crops.jsonl, synth-assets)")
    t.add_argument("--folder", type=Path, action="append", default=[], help="labelled crops of your own (repeatable)")
    t.add_argument("--pseudo", type=Path, help="pseudo-labels (default OUT/pseudo.jsonl when present)")
    t.add_argument("--init", type=Path, help="start from these weights (plate_reader.pt) to fine-tune")
    t.add_argument("--out", type=Path, default=Path("build/plate-reader"), help="output folder")
    t.add_argument("--steps", type=int, default=5500, help="training steps (default 5500)")
    t.add_argument("--batch", type=int, default=64, help="crops per step (default 64)")
    t.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (fine-tuning: 5e-4)")
    t.add_argument("--rendered", type=int, default=30000, help="plates rendered once for training (default 30000)")
    t.add_argument("--synth-share", type=float, default=0.5, help="share of rendered plates per batch")
    t.add_argument("--seed", type=int, default=20261202)
    t.add_argument("--threads", type=int, default=2, help="torch threads")
    t.add_argument("--val-synth", type=int, default=150, help="rendered validation plates per style")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from platehub.training.train import Config, train
    except ImportError as e:
        print(f"platehub train needs torch and pillow: pip install 'platehub[train]' ({e})", file=sys.stderr)
        return 2
    if not args.data and not args.folder:
        print("give --data (plates-train) and/or --folder (your labelled crops)", file=sys.stderr)
        return 2
    cfg = Config(data=args.data, folders=args.folder, pseudo=args.pseudo, out=args.out, init=args.init,
                 steps=args.steps, batch=args.batch, lr=args.lr, synth_share=args.synth_share, seed=args.seed,
                 threads=args.threads, val_synth=args.val_synth, rendered=args.rendered)
    summary = train(cfg)
    print(json.dumps(summary, indent=2))
    return 0
