"""Dataset readers: every layout, auto-detection, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from videocam.errors import DatasetError
from videocam.evaluate.datasets import (
    open_dataset,
    read_class_folders,
    read_kinetics_csv,
    read_list_file,
    read_sports1m,
    read_ucf101,
    youtube_id,
)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("http://youtube.com/watch?feature=x&v=abc_DEF-123", "abc_DEF-123"),
        ("https://youtu.be/dQw4w9WgXcQ?t=3", "dQw4w9WgXcQ"),
        ("https://m.youtube.com/embed/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://www.youtube.com/watch?v=short", None),
        ("https://example.com/watch?v=dQw4w9WgXcQ", None),
    ],
)
def test_youtube_id(url, expected):
    assert youtube_id(url) == expected


def test_sports1m_partition(tmp_path):
    write(tmp_path / "labels.txt", "archery\nbasketball\ncurling\ndiving\n")
    touch(tmp_path / "videos" / "dQw4w9WgXcQ.mkv")
    touch(tmp_path / "clips" / "my clip.mp4")
    partition = write(
        tmp_path / "test_partition.txt",
        "# comment\n"
        "clips/a.mp4 0\n"
        "\n"
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ 1,3\n"
        "https://www.youtube.com/watch?v=AAAAAAAAAAA 2\n"
        "clips/my clip.mp4 3\n",
    )
    ds = read_sports1m(partition)
    assert ds.format == "sports1m" and ds.classes == ("archery", "basketball", "curling", "diving")
    assert [i.index for i in ds] == [0, 1, 2, 3]
    assert [i.line for i in ds] == [2, 4, 5, 6]
    assert ds[0].path == (tmp_path / "clips" / "a.mp4").absolute() and ds[0].labels == (0,)
    assert ds[1].path == tmp_path / "videos" / "dQw4w9WgXcQ.mkv" and ds[1].labels == (1, 3)
    assert ds[2].path is None and "AAAAAAAAAAA" in ds[2].missing
    assert ds[3].source == "clips/my clip.mp4" and ds[3].path.is_file()
    assert [i.index for i in ds.missing] == [0, 2]  # a.mp4 does not exist either
    assert ds.label_names(ds[1]) == ["basketball", "diving"]
    assert open_dataset(tmp_path).format == "sports1m"  # folder with labels.txt + partition
    assert open_dataset(partition).format == "sports1m"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("clips/a.mp4 4", "label 4 is out of range (4 classes)"),
        ("clips/a.mp4 x", "bad label 'x'"),
        ("clips/a.mp4", "got no label"),
        ("clips/a.mp4 1;2", "bad label '1;2'"),
    ],
)
def test_sports1m_bad_lines_name_file_line_and_text(tmp_path, line, message):
    write(tmp_path / "labels.txt", "a\nb\nc\nd\n")
    partition = write(tmp_path / "test_partition.txt", f"clips/ok.mp4 0\n{line}\n")
    with pytest.raises(DatasetError) as info:
        read_sports1m(partition)
    text = str(info.value)
    assert "\n" not in text
    assert f"{partition}:2:" in text and message in text and repr(line) in text


def test_sports1m_bad_labels_file(tmp_path):
    write(tmp_path / "labels.txt", "a\n\nb\n")  # an empty line would shift the indices
    partition = write(tmp_path / "test_partition.txt", "x.mp4 0\n")
    with pytest.raises(DatasetError, match="labels.txt"):
        read_sports1m(partition)
    write(tmp_path / "labels.txt", "a\nb\n")
    with pytest.raises(DatasetError, match="partition file not found"):
        read_sports1m(tmp_path / "nope_partition.txt", labels=tmp_path / "labels.txt")


def test_list_file_pytorchvideo_and_mmaction_multilabel(tmp_path):
    touch(tmp_path / "v" / "a.mp4")
    lst = write(tmp_path / "val.txt", "v/a.mp4 2\nv/b.mp4 0 3\nv/c d.mp4 1\n")
    ds = read_list_file(lst)
    assert ds.format == "list" and ds.classes == ("0", "1", "2", "3")
    assert [i.labels for i in ds] == [(2,), (0, 3), (1,)]
    assert ds[2].source == "v/c d.mp4"
    named = read_list_file(lst, labels=write(tmp_path / "names.txt", "w\nx\ny\nz\n"))
    assert named.classes == ("w", "x", "y", "z")
    rooted = read_list_file(lst, root=tmp_path / "elsewhere")
    assert rooted[0].path == (tmp_path / "elsewhere" / "v" / "a.mp4").absolute()
    assert open_dataset(lst).format == "list"
    with pytest.raises(DatasetError, match=r"val2.txt:1: .*got no label"):
        read_list_file(write(tmp_path / "val2.txt", "v/a.mp4\n"))


def test_class_folders(tmp_path):
    root = tmp_path / "root"
    touch(root / "swim" / "b.mp4")
    touch(root / "swim" / "a.avi")
    touch(root / "swim" / "notes.txt")
    touch(root / "archery" / "deep" / "c.MP4")
    (root / "empty_class").mkdir()
    ds = read_class_folders(root)
    assert ds.classes == ("archery", "empty_class", "swim")
    assert [(i.source, i.labels) for i in ds] == [
        ("archery/deep/c.MP4", (0,)),
        ("swim/a.avi", (2,)),
        ("swim/b.mp4", (2,)),
    ]
    assert open_dataset(root).format == "folders"
    with pytest.raises(DatasetError, match="no class sub-folders"):
        read_class_folders(touch(tmp_path / "flat" / "x.mp4").parent)


def test_kinetics_csv(tmp_path):
    touch(tmp_path / "val" / "abseiling" / "aaa_000010_000020.mp4")
    touch(tmp_path / "val" / "zumba" / "bbb_000001_000011.mkv")
    csv = write(
        tmp_path / "val.csv",
        "label,youtube_id,time_start,time_end,split\n"
        "zumba,bbb,1,11,val\n"
        "abseiling,aaa,10.0,20,val\n"
        '"air drumming",ccc,0,10,val\n',
    )
    ds = read_kinetics_csv(csv)
    assert ds.format == "kinetics" and ds.classes == ("abseiling", "air drumming", "zumba")
    assert [i.labels for i in ds] == [(2,), (0,), (1,)]
    assert ds[0].path.name == "bbb_000001_000011.mkv"
    assert ds[1].path.name == "aaa_000010_000020.mp4"
    assert ds[2].path is None and "ccc_000000_000010" in ds[2].missing
    assert open_dataset(csv).format == "kinetics"
    shipped = read_kinetics_csv(
        csv, labels=write(tmp_path / "k.txt", "zumba\nair drumming\nabseiling\n")
    )
    assert [i.labels for i in shipped] == [(0,), (2,), (1,)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("youtube_id,time_start\nabc,1\n", "missing column(s) time_end"),
        ("label,youtube_id,time_start,time_end\nx,abc,one,2\n", ":2: time_start is not a number"),
        ("label,youtube_id,time_start,time_end\nx,abc,5,2\n", ":2: time_end is before time_start"),
        ("label,youtube_id,time_start,time_end\nx,../abc,1,2\n", ":2: bad youtube_id"),
        ("label,youtube_id,time_start,time_end\nx,abc,1\n", ":2: expected 4 fields, got 3"),
    ],
)
def test_kinetics_csv_errors(tmp_path, text, message):
    with pytest.raises(DatasetError) as info:
        read_kinetics_csv(write(tmp_path / "bad.csv", text))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_ucf101_lists(tmp_path):
    lists = tmp_path / "ucfTrainTestlist"
    write(lists / "classInd.txt", "1 ApplyEyeMakeup\n2 Archery\n3 YoYo\n")
    write(lists / "trainlist01.txt", "Archery/v_Archery_g01_c01.avi 2\nYoYo/v_YoYo_g02_c01.avi 3\n")
    write(
        lists / "testlist01.txt",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\nYoYo/v_YoYo_g01_c01.avi\n",
    )
    touch(tmp_path / "UCF-101" / "Archery" / "v_Archery_g01_c01.avi")
    train = read_ucf101(lists / "trainlist01.txt")
    assert train.classes == ("ApplyEyeMakeup", "Archery", "YoYo")
    assert [i.labels for i in train] == [(1,), (2,)]  # 1-based in the file
    assert train[0].path == (tmp_path / "UCF-101" / "Archery" / "v_Archery_g01_c01.avi")
    test = open_dataset(tmp_path)  # finds ucfTrainTestlist/testlist01.txt
    assert test.format == "ucf101" and [i.labels for i in test] == [(0,), (2,)]
    assert open_dataset(tmp_path, split="train").split == "trainlist01"
    bad = write(lists / "trainlist02.txt", "Archery/v_Archery_g01_c01.avi 3\n")
    with pytest.raises(
        DatasetError, match=r"trainlist02.txt:1: label 3 \(YoYo\) contradicts folder Archery"
    ):
        read_ucf101(bad)
    write(lists / "classInd.txt", "1 A\n3 B\n")
    with pytest.raises(DatasetError, match=r"classInd.txt:2: expected index 2"):
        read_ucf101(lists / "testlist01.txt")


def test_synthetic_layout(synthetic_root):
    ds = open_dataset(synthetic_root)
    assert ds.format == "synthetic" and ds.split == "test" and len(ds) == 4
    assert ds.has_ground_truth and sorted(i.num_instances for i in ds) == [1, 1, 2, 2]
    gt = ds.ground_truth(ds[0])
    assert gt.masks.shape[1:] == (12, 48, 64)
    assert ds[0].labels == (gt.class_index,)
    train = open_dataset(synthetic_root, split="train")
    assert len(train) == 4 and {i.index for i in train} == {0, 1, 2, 3}
    # the partition file alone is read as the synthetic layout too
    assert open_dataset(synthetic_root / "test_partition.txt").format == "synthetic"


def test_open_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="dataset not found"):
        open_dataset(tmp_path / "nope")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        open_dataset(tmp_path, format="imagenet")
    write(tmp_path / "labels.txt", "a\n")
    write(tmp_path / "train_partition.txt", "x.mp4 0\n")
    with pytest.raises(
        DatasetError, match=r"no test_partition.txt \(partition files: train_partition.txt\)"
    ):
        open_dataset(tmp_path)
    with pytest.raises(DatasetError, match="is not a videocam synthetic dataset"):
        open_dataset(tmp_path, format="synthetic")
