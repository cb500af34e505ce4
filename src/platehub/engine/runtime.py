"""ONNX Runtime sessions: one per model, loaded once, CPU by default, a GPU provider when present."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

MODELS = Path(__file__).resolve().parent.parent / "models"
_GPU_PROVIDERS = ("CUDAExecutionProvider", "ROCMExecutionProvider", "CoreMLExecutionProvider")


def model_path(name: str) -> Path:
    path = MODELS / name
    if not path.exists():
        raise FileNotFoundError(f"model file {path} is missing; see {MODELS / 'README.md'}")
    return path


def providers() -> list[str]:
    available = ort.get_available_providers()
    return [p for p in _GPU_PROVIDERS if p in available] + ["CPUExecutionProvider"]


def session(name: str, threads: int = 1) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Several sessions share few cores: spinning threads steal time from each other.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model_path(name)), sess_options=so, providers=providers())
