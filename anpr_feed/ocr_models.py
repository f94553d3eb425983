"""RapidOCR's models: their files in its wheel (nothing is downloaded at run time), loaded."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anpr_feed.ocr_decode import Vocabulary
from anpr_feed.plate_grammar import Grammar


def model_dir() -> Path:
    """Where the rapidocr wheel keeps its ONNX models."""
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def find_model(kind: str) -> Path:
    """The wheel's ONNX model for ``kind`` ("det" or "rec"), preferring PP-OCRv6 small."""
    models = model_dir()
    preferred = models / f"PP-OCRv6_{kind}_small.onnx"
    if preferred.is_file():
        return preferred
    found = sorted(models.glob(f"*{kind}*.onnx"))
    if not found:
        raise FileNotFoundError(f"no {kind} model in {models}: is rapidocr installed with models?")
    return found[-1]


def quiet_rapidocr() -> None:
    """Silence RapidOCR's INFO logging (call again after it builds an engine)."""
    # RapidOCR logs every model load at INFO through its own non-propagating
    # logger; a feed's worker would print that for every process start.
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)


@dataclass
class Engine:
    """The loaded models (a reader loads them on first use)."""

    detector: Any  # rapidocr.RapidOCR, used for detection only
    rec: Any  # onnxruntime.InferenceSession of the recognition model
    rec_input: str
    vocab: Vocabulary
    charset: list[str]
    grammar: Grammar


def load_engine(threads: int | None = None) -> Engine:
    """Load the detection and recognition models (``threads``: onnxruntime intra-op threads, None for all cores)."""
    quiet_rapidocr()
    import onnxruntime as ort
    from rapidocr import RapidOCR

    det_model = find_model("det")
    rec_model = find_model("rec")
    cls_model = next(iter(sorted(model_dir().glob("*cls*.onnx"))), None)
    intra_threads = threads if threads is not None else -1
    params: dict[str, Any] = {
        "Global.log_level": "error",
        "Global.use_cls": False,
        "Global.use_rec": False,
        "Global.max_side_len": 4096,
        "Det.model_path": str(det_model),
        "Rec.model_path": str(rec_model),
        # We size the image ourselves; "max" with a large limit only rounds to 32 px.
        "Det.limit_type": "max",
        "Det.limit_side_len": 4096,
        "EngineConfig.onnxruntime.intra_op_num_threads": intra_threads,
    }
    if cls_model is not None:
        params["Cls.model_path"] = str(cls_model)
    detector = RapidOCR(params=params)
    quiet_rapidocr()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
    rec = ort.InferenceSession(
        str(rec_model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    meta = rec.get_modelmeta().custom_metadata_map
    # PaddleOCR's CTC classes: blank, the dictionary, then a space.
    charset = ["", *meta["character"].splitlines(), " "]
    return Engine(
        detector=detector,
        rec=rec,
        rec_input=rec.get_inputs()[0].name,
        vocab=Vocabulary(charset),
        charset=charset,
        grammar=Grammar(),
    )
