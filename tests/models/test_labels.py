"""Label maps: the shipped Kinetics-400 / Sports-1M lists and user label files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from videocam.errors import LabelFileError, VideocamError
from videocam.models import list_label_maps, load_labels


def test_shipped_maps_have_the_official_sizes() -> None:
    assert list_label_maps() == ["kinetics400", "sports1m"]
    kinetics, sports = load_labels("kinetics400"), load_labels("sports1m")
    assert len(kinetics) == len(set(kinetics)) == 400
    assert len(sports) == len(set(sports)) == 487
    assert load_labels("kinetics400", num_classes=400) == kinetics


def test_kinetics400_order_matches_the_published_indices() -> None:
    """Indices from PySlowFast's kinetics_classnames.json, an independent copy of the map."""
    labels = load_labels("kinetics400")
    known = {
        0: "abseiling",
        115: "eating ice cream",
        161: "hurling (sport)",
        171: "juggling soccer ball",
        196: "massaging person's head",
        208: "passing American football (in game)",
        290: "sharpening knives",
        308: "skiing (not slalom or crosscountry)",
        374: "using remote controller (not gaming)",
        399: "zumba",
    }
    assert {i: labels[i] for i in known} == known


def test_kinetics400_matches_torchvision_weights_meta() -> None:
    from torchvision.models.video import R3D_18_Weights

    assert load_labels("kinetics400") == list(R3D_18_Weights.KINETICS400_V1.meta["categories"])


def test_sports1m_order_matches_the_official_labels_txt() -> None:
    labels = load_labels("sports1m")
    known = {
        0: "boomerang",
        9: "mountain unicycling",
        23: "figure skating",
        100: "yağlı güreş",  # non-ASCII names are kept as UTF-8
        159: "abseiling",
        356: "association football",
        486: "model aircraft",
    }
    assert {i: labels[i] for i in known} == known
    assert "pétanque" in labels and "daitō-ryū aiki-jūjutsu" in labels


def test_user_text_file(tmp_path: Path) -> None:
    path = tmp_path / "classes.txt"
    path.write_text("run\r\n  jump  \nswim\n\n\n", encoding="utf-8")
    assert load_labels(path) == ["run", "jump", "swim"]
    assert load_labels(str(path), num_classes=3) == ["run", "jump", "swim"]
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffrun\njump\n".encode())
    assert load_labels(bom) == ["run", "jump"]


def test_user_json_files(tmp_path: Path) -> None:
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps(["a", "b", "c"]))
    assert load_labels(as_list) == ["a", "b", "c"]

    name_to_index = tmp_path / "map.json"  # PySlowFast style, out of order, quoted names
    name_to_index.write_text(
        json.dumps({'"playing cards"': 2, "abseiling": 0, '"air drumming"': 1})
    )
    assert load_labels(name_to_index) == ["abseiling", "air drumming", "playing cards"]

    index_to_name = tmp_path / "id2label.json"
    index_to_name.write_text(json.dumps({"1": "b", "0": "a"}))
    assert load_labels(index_to_name) == ["a", "b"]

    no_suffix = tmp_path / "labels"  # JSON recognised by content
    no_suffix.write_text('["x", "y"]')
    assert load_labels(no_suffix) == ["x", "y"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no class names"),
        (b"run\n\njump\n", "line 2 is empty"),
        (b"run\njump\nrun\n", "appears twice"),
        (b"caf\xe9\n", "not UTF-8"),
        (b"ok\nbad\x07name\n", "control characters"),
        (b'{"a": 0, "b": 0}', "index 0 is given twice"),
        (b'{"a": 0, "b": 2}', "missing 1"),
        (b'{"a": 0, "b": "1x"}', "not an integer"),
        (b'{"a": 0, "b": true}', "not an integer"),
        (b'{"a": -1}', "negative"),
        (b'{"zero": "a"}', "not a class index"),
        (b'["a", 3]', "not a string"),
        (b'{"a": 0,', "not valid JSON"),
        (b'"just a string"', "list of names"),
    ],
)
def test_bad_label_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / ("labels.json" if content[:1] in (b"{", b"[", b'"') else "labels.txt")
    path.write_bytes(content)
    with pytest.raises(LabelFileError, match=message) as info:
        load_labels(path)
    assert "\n" not in str(info.value) and isinstance(info.value, VideocamError)


def test_count_must_match_the_model(tmp_path: Path) -> None:
    path = tmp_path / "three.txt"
    path.write_text("a\nb\nc\n")
    with pytest.raises(LabelFileError, match="3 class names but the model has 400 classes"):
        load_labels(path, num_classes=400)
    with pytest.raises(LabelFileError, match="487"):
        load_labels("kinetics400", num_classes=487)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(LabelFileError, match="not found.*kinetics400"):
        load_labels(tmp_path / "absent.txt")
    with pytest.raises(LabelFileError, match="not a file"):
        load_labels(tmp_path)
    with pytest.raises(LabelFileError, match="not found"):
        load_labels("kinetics700")
