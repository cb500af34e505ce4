"""Export the safelicensing YOLOv8n plate detector (.pt) to the ONNX model shipped in
src/platehub/models/plate_detector.onnx (and, with --int8, plate_detector_int8.onnx).

Run it in a THROWAWAY venv, never in the project's .venv (torch is only needed here, once),
starting in the repository root:

    REPO=$PWD
    python3 -m venv /tmp/export/venv && . /tmp/export/venv/bin/activate
    pip install torch==2.13.0                 # ONLY this version: the CPU wheel; others pull GBs of CUDA
    pip install --no-deps ultralytics         # its declared deps would pull a second torch/opencv
    pip install matplotlib requests psutil onnx onnxslim omegaconf ultralytics-thop pyyaml \
                opencv-python-headless pillow scipy pandas polars onnxruntime==1.31.1
    pip install --no-deps torchvision==0.28.0 # imported by ultralytics; its C ops are not needed
    mkdir -p /tmp/export/pkgs && cd /tmp/export/pkgs
    pip download --no-deps safelicensing==1.0.3 -d .     # the model source (Apache-2.0 wheel)
    unzip -o -q safelicensing-1.0.3-py3-none-any.whl -d safelicensing
    python "$REPO"/tools/export_detector.py --pt /tmp/export/pkgs/safelicensing/safelicensing/best.pt

Versions used for the committed files: ultralytics 8.4.190, torch 2.13.0+cpu, onnx 1.23.2,
onnxslim 0.1.98, onnxruntime 1.31.1, Python 3.11.

What it does:
  1. Ultralytics export(format="onnx", dynamic=True, imgsz=640, opset=17, simplify=True):
     input "images" [batch, 3, height, width], output "output0" [batch, 5, anchors].
  2. Pins the batch dimension to 1 and re-slims, so the shape sub-graph that Ultralytics
     emits for a dynamic batch is constant-folded; height and width stay dynamic (any multiple
     of 32). Output: [1, 5, N], N = (h/8*w/8 + h/16*w/16 + h/32*w/32), rows cx, cy, w, h
     (letterbox pixels), score (sigmoid, 1 class).
  3. Drops the export timestamp and the symbolic shape annotations (value_info), so reruns
     give byte-identical files, and records the source package/file/sha256 in the metadata.
  4. Checks the ONNX output against the PyTorch model at 640x640, 480x640 and 384x512.
  5. --int8: int8 static quantisation of that ONNX model (QDQ, per-channel int8 weights,
     uint8 activations, MinMax calibration on 640x640 letterboxed photos), written as
     plate_detector_int8.onnx. The tail of the detection head (/model.22/ nodes outside the
     cv2/cv3 conv branches: DFL, anchor decode, the concat of boxes and scores) stays float:
     quantising it too puts boxes (0..640 px) and scores (0..1) on one uint8 scale and every
     score rounds to 0. Calibration photos: --calib-manifest plates-dev/manifest.jsonl takes
     every other photo of the manifest, the first 30 (what the committed file used: 5 hr,
     13 ua, 12 ro), or --calib-list FILE gives one image path per line.

Full rerun of both committed files (about 30 s on 2 cores):
    python "$REPO"/tools/export_detector.py --pt /tmp/export/pkgs/safelicensing/safelicensing/best.pt \
        --int8 --calib-manifest "$REPO"/../shared/data/plates-dev/manifest.jsonl

The script sets YOLO_OFFLINE=1 itself, so Ultralytics never tries the network.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

os.environ["YOLO_OFFLINE"] = "1"
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-cfg-"))

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "src", "platehub", "models"))
SOURCE = "safelicensing==1.0.3 safelicensing/best.pt"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export(pt, out):
    import onnx
    import onnxslim
    from ultralytics import YOLO

    work = tempfile.mkdtemp(prefix="export-")
    local_pt = os.path.join(work, "safelicensing_best.pt")
    shutil.copy(pt, local_pt)
    model = YOLO(local_pt)
    assert model.task == "detect" and model.names == {0: "License_Plate"}, (model.task, model.names)
    onnx_path = model.export(format="onnx", dynamic=True, imgsz=640, opset=17, simplify=True)

    m = onnx.load(onnx_path)
    # pin batch = 1 on the input and output; height/width stay symbolic
    m.graph.input[0].type.tensor_type.shape.dim[0].Clear()
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    m.graph.output[0].type.tensor_type.shape.dim[0].Clear()
    m.graph.output[0].type.tensor_type.shape.dim[0].dim_value = 1
    m = onnxslim.slim(m)
    # the symbolic shape annotations (value_info) are not needed at run time and their sympy
    # expressions are not byte-stable between runs; drop them so the file is reproducible
    del m.graph.value_info[:]
    meta = {p.key: p.value for p in m.metadata_props if p.key not in ("date", "description")}
    meta["batch"] = "1"
    meta["dynamic"] = "height,width (multiples of 32)"
    meta["source"] = f"{SOURCE} sha256={sha256(pt)}"
    meta["description"] = "YOLOv8n licence-plate detector (1 class) from the safelicensing wheel"
    del m.metadata_props[:]
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(m)
    onnx.save(m, out)
    print("wrote", out, sha256(out))
    verify(model, out)


def verify(model, onnx_path):
    import numpy as np
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    net = model.model.float().eval()
    for h, w in [(640, 640), (480, 640), (384, 512)]:
        x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
        with torch.no_grad():
            ref = net(torch.from_numpy(x))
        ref = (ref[0] if isinstance(ref, (list, tuple)) else ref).numpy()
        got = sess.run(None, {"images": x})[0]
        assert got.shape == ref.shape, (got.shape, ref.shape)
        err = float(np.abs(got - ref).max())
        print(f"verify {h}x{w}: output {got.shape}, max |onnx - torch| = {err:.2e}")
        assert err < 1e-2, err


def quantize_int8(fp32, out, calib_images, size=640):
    """Static int8, QDQ, per-channel weights, MinMax activations, calibrated on letterboxed photos."""
    import cv2
    import numpy as np
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    def letterbox(img):
        hh, ww = img.shape[:2]
        r = min(size / hh, size / ww)
        nw, nh = int(round(ww * r)), int(round(hh * r))
        pw, ph = (size - nw) / 2, (size - nh) / 2
        im = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        im = cv2.copyMakeBorder(
            im,
            int(round(ph - 0.1)),
            int(round(ph + 0.1)),
            int(round(pw - 0.1)),
            int(round(pw + 0.1)),
            cv2.BORDER_CONSTANT,
            value=(114, 114, 114),
        )
        return cv2.cvtColor(im, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None].astype(np.float32) / 255.0

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"images": letterbox(cv2.imread(p))} for p in calib_images])

        def get_next(self):
            return next(self.it, None)

    import onnx

    pre = out + ".pre.onnx"
    # symbolic shape inference cannot resolve the dynamic height/width graph; ORT's own
    # shape inference (the default path) is enough for quantisation
    quant_pre_process(fp32, pre, skip_symbolic_shape=True)
    head_tail = [
        n.name
        for n in onnx.load(pre).graph.node
        if n.name.startswith("/model.22/") and "/cv2." not in n.name and "/cv3." not in n.name
    ]
    quantize_static(
        pre,
        out,
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=head_tail,
    )
    os.remove(pre)
    for f in os.listdir(os.path.dirname(os.path.abspath(out))):  # calibration scratch files
        if f.startswith("augmented_model") or f.endswith(".pre.onnx.data"):
            os.remove(os.path.join(os.path.dirname(os.path.abspath(out)), f))
    print("wrote", out, sha256(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pt", required=True, help="path to safelicensing/best.pt from the unpacked wheel")
    ap.add_argument("--out", default=os.path.join(MODELS, "plate_detector.onnx"))
    ap.add_argument("--int8", action="store_true", help="also write plate_detector_int8.onnx")
    ap.add_argument("--calib-manifest", help="plates-dev manifest.jsonl: calibrate on every other photo, first 30")
    ap.add_argument("--calib-list", help="text file, one image path per line (for --int8)")
    a = ap.parse_args()
    print("source .pt sha256", sha256(a.pt))
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    export(a.pt, a.out)
    if a.int8:
        if a.calib_manifest:
            base = os.path.dirname(os.path.abspath(a.calib_manifest))
            with open(a.calib_manifest) as f:
                rows = [json.loads(line) for line in f if line.strip()]
            imgs = [os.path.join(base, r["image"]) for r in rows[0::2][:30]]
        elif a.calib_list:
            with open(a.calib_list) as f:
                imgs = [line.strip() for line in f if line.strip()]
        else:
            sys.exit("--int8 needs --calib-manifest or --calib-list")
        print(f"calibrating on {len(imgs)} photos")
        quantize_int8(a.out, os.path.join(os.path.dirname(a.out), "plate_detector_int8.onnx"), imgs)


if __name__ == "__main__":
    main()
