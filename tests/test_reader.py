"""RapidOcrReader on real photos (when the dev set is present), synthetic crops and non-plates."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from anpr_feed.reader import RapidOcrReader, plate_colour
from anpr_feed.types import Image
from tests.support import synth

REAL_DEV = Path("/work/shared/data/anpr-real-dev")


@pytest.fixture(scope="module")
def reader() -> RapidOcrReader:
    # One onnxruntime thread: the same readings, and no spinning threads
    # competing for the cores when other tests run alongside.
    r = RapidOcrReader(threads=1)
    r.warm_up()
    return r


def _crop(layout: str, seed: int, px_per_mm: float) -> tuple[str, Image]:
    """A rendered plate with a margin of car body around it, as a detector would crop it."""
    rng = np.random.default_rng(seed)
    spec = synth.random_plate(rng, layout)
    plate = synth.render_plate(spec, px_per_mm)
    h, w = plate.shape[:2]
    img = cv2.copyMakeBorder(
        plate, h // 6, h // 6, w // 12, w // 12, cv2.BORDER_CONSTANT, value=(70, 60, 50)
    )
    return spec.normalized, np.asarray(img, np.uint8)


@pytest.mark.skipif(not (REAL_DEV / "labels.csv").is_file(), reason="real-dev image set absent")
def test_real_dev_set_is_read_exactly(reader: RapidOcrReader) -> None:
    with (REAL_DEV / "labels.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 100
    misses = []
    for row in rows:
        image = cv2.imread(str(REAL_DEV / "images" / row["file"]), cv2.IMREAD_COLOR)
        assert image is not None, row["file"]
        readings = reader.read(image)
        got = readings[0].plate.normalized if readings else None
        if got != row["plate"]:
            misses.append((row["file"], row["plate"], got))
    exact = 1 - len(misses) / len(rows)
    assert exact >= 0.97, misses


@pytest.mark.parametrize("layout", synth.LAYOUTS)
def test_synthetic_crops_of_every_layout_are_read_exactly(
    reader: RapidOcrReader, layout: str
) -> None:
    # Two sizes: a plate as a camera's crop sees it (small), and a close-up.
    small = 0.35 if synth.PLATE_MM[layout][0] > 300 else 0.6
    for seed, px_per_mm in ((11, small), (12, 2 * small)):
        truth, image = _crop(layout, seed, px_per_mm)
        readings = reader.read(image)
        assert readings, (layout, truth, image.shape)
        best = readings[0]
        assert best.plate.normalized == truth, (layout, image.shape, best)
        assert 0.5 <= best.confidence <= 1.0
        x, y, w, h = best.box
        assert w > 0 and h > 0 and x + w <= image.shape[1] and y + h <= image.shape[0]
        expected_lines = 1 if "1line" in layout else 2
        assert best.plate.lines == expected_lines


def test_plate_colour_is_reported(reader: RapidOcrReader) -> None:
    spec = synth.random_plate(np.random.default_rng(5), "car_1line", colour="yellow")
    readings = reader.read(synth.render_plate(spec, 0.6))
    assert readings and readings[0].plate.normalized == spec.normalized
    assert readings[0].colour == "yellow"


CAR_BODIES = {  # BGR
    "red": (40, 40, 190),
    "blue": (160, 80, 30),
    "white": (235, 235, 235),
    "black": (25, 25, 25),
    "silver": (170, 170, 165),
    "yellow": (30, 190, 230),
}


@pytest.mark.parametrize("colour", ["white", "yellow", "blue", "red"])
def test_plate_colour_is_the_plates_not_the_cars(colour: str) -> None:
    """A loose box takes in the car around the plate; the plate's colour still wins.

    (A white plate on a red car once came out yellow, a blue plate on a silver
    car white.) Dimmed to 45 % as at night, a white plate is still white.
    """
    rng = np.random.default_rng(3)
    for (body, bgr), loose, light in itertools.product(CAR_BODIES.items(), (0.0, 0.3), (1.0, 0.45)):
        plate = synth.render_plate(synth.random_plate(rng, "car_1line", colour=colour), 0.35)
        h, w = plate.shape[:2]
        image = np.empty((3 * h, 2 * w, 3), np.uint8)
        image[:] = bgr
        image[h : 2 * h, w // 2 : w // 2 + w] = plate
        image = cv2.GaussianBlur(image, (3, 3), 0)
        noisy = image.astype(np.float32) * light + rng.normal(0, 4, image.shape)
        image = np.clip(noisy, 0, 255).astype(np.uint8)
        dy, dx = int(h * loose), int(w * loose / 4)
        box = (w // 2 - dx, h - dy, w + 2 * dx, h + 2 * dy)
        assert plate_colour(image, box) == colour, (body, loose, light)


@pytest.mark.parametrize(
    ("layout", "px_per_mm"), [("car_1line", 0.45), ("car_2line", 0.5), ("moto_2line", 0.9)]
)
def test_plate_in_a_larger_picture_is_found_and_boxed(
    reader: RapidOcrReader, layout: str, px_per_mm: float
) -> None:
    truth, crop = _crop(layout, 21, px_per_mm)
    # A loose crop around a car's bumper: the plate is a small, off-centre part of it.
    scene = np.full((480, 640, 3), (90, 95, 100), np.uint8)
    cv2.rectangle(scene, (120, 250), (560, 450), (40, 40, 150), -1)
    ch, cw = crop.shape[:2]
    scene[300 : 300 + ch, 200 : 200 + cw] = crop
    readings = reader.read(scene)
    assert [r.plate.normalized for r in readings] == [truth]
    x, y, w, h = readings[0].box
    # The box is on the plate, not elsewhere in the picture.
    assert 190 <= x <= 200 + cw // 4 and 290 <= y <= 300 + ch // 2
    assert x + w <= 200 + cw + 10 and y + h <= 300 + ch + 10


@pytest.mark.parametrize("degrees", [-5.0, 5.0])
def test_a_tilted_plate_is_read(reader: RapidOcrReader, degrees: float) -> None:
    truth, crop = _crop("moto_2line", 51, 0.8)
    h, w = crop.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    tilted = cv2.warpAffine(crop, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    readings = reader.read(tilted)
    assert readings and readings[0].plate.normalized == truth


def _text_image(lines: list[str]) -> Image:
    img = np.full((80 + 60 * len(lines), 640, 3), 235, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(img, text, (20, 80 + 60 * i), cv2.FONT_HERSHEY_DUPLEX, 1.6, (20, 20, 20), 3)
    return img


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.full((120, 360, 3), 255, np.uint8), id="blank"),
        pytest.param(
            np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8), id="noise"
        ),
        pytest.param(_text_image(["0208.3855.123"]), id="phone-number"),
        pytest.param(_text_image(["KM 52+300", "QL3 HA NOI"]), id="road-sign"),
        pytest.param(_text_image(["10A-123.45"]), id="unassigned-code"),
    ],
)
def test_no_plate_gives_no_reading(reader: RapidOcrReader, image: Image) -> None:
    assert reader.read(image) == []


def test_tiny_and_grey_images_are_accepted(reader: RapidOcrReader) -> None:
    assert reader.read(np.zeros((4, 4, 3), np.uint8)) == []
    truth, crop = _crop("car_1line", 31, 0.45)
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    readings = reader.read(grey)
    assert readings and readings[0].plate.normalized == truth


def test_not_an_image_raises_a_clear_error(reader: RapidOcrReader, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected a BGR image"):
        reader.read(np.zeros((20, 20, 5), np.uint8))
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not an image or a video"):
        reader.read_file(text)
    with pytest.raises(FileNotFoundError, match="no such file"):
        reader.read_file(tmp_path / "missing.jpg")


def test_read_file_reads_an_image_file(reader: RapidOcrReader, tmp_path: Path) -> None:
    truth, crop = _crop("moto_2line", 41, 1.0)
    path = tmp_path / "plate.png"
    assert cv2.imwrite(str(path), crop)
    readings = reader.read_file(path)
    assert readings and readings[0].plate.normalized == truth


def _variants_tried(reader: RapidOcrReader, image: Image) -> tuple[list, set[str]]:
    """``reader.read(image)`` and every row variant its recogniser was given."""
    tried: set[str] = set()
    original = reader._recognise

    def recording(engine, images, variants):  # type: ignore[no-untyped-def]
        tried.update(variants)
        return original(engine, images, variants)

    reader._recognise = recording  # type: ignore[method-assign]
    try:
        return reader.read(image), tried
    finally:
        del reader._recognise


def test_a_small_crop_of_no_plate_is_not_read_again_with_every_variant(
    reader: RapidOcrReader,
) -> None:
    # A live feed's crop of tracked text that is not a plate (here a road sign shrunk to
    # a crop's size): the first variant reads nothing, and the others are not tried.
    sign = _text_image(["KM 52+300", "QL3 HA NOI"])
    small = cv2.resize(sign, (150, round(150 * sign.shape[0] / sign.shape[1])))
    readings, tried = _variants_tried(reader, small)
    assert readings == []
    assert tried == {"plain"}
    # The same text as a big picture (a scene, a file) still gets every variant.
    readings, tried = _variants_tried(reader, sign)
    assert readings == []
    assert tried == set(reader.variants)
