"""The environment the README's commands build: one OpenCV, offline plate models."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path


def test_exactly_one_opencv_wheel_is_installed() -> None:
    # Two OpenCV wheels overwrite each other's cv2 module: whichever installed
    # last wins, and the other's files are left half in place.
    names = {
        (dist.metadata["Name"] or "").lower()
        for dist in metadata.distributions()
        if (dist.metadata["Name"] or "").lower().startswith("opencv")
    }
    assert names == {"opencv-python-headless"}


def test_the_plate_models_ship_in_the_rapidocr_wheel() -> None:
    import rapidocr

    models = list(Path(rapidocr.__file__).parent.rglob("*.onnx"))
    assert models, "rapidocr carries no ONNX models: they would be downloaded at run time"
    assert any("det" in p.name for p in models) and any("rec" in p.name for p in models)
