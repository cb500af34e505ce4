"""Training platehub's plate reader (`platehub train`): rendered plates (`synth.py`), camera-like
augmentation (`augment.py`), labelled and pseudo-labelled crops split by vehicle (`data.py`), the
network (`model.py`) and the loop with validation and ONNX export (`train.py`). Needs the `train`
extra (torch, pillow, onnx); the server itself never imports this package."""
