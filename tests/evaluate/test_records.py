"""The records file survives torn writes; the output folder refuses mixing runs."""

from __future__ import annotations

import json

import pytest

from videocam.errors import OutputPathError
from videocam.evaluate.records import (
    RecordsError,
    RecordWriter,
    load_records,
    merge_records,
    prepare_output,
    read_records,
)


def rec(index: int, method: str, **extra) -> dict:
    return {"index": index, "method": method, "status": "ok", **extra}


def test_writer_appends_lines_and_cuts_a_torn_tail(tmp_path):
    path = tmp_path / "records.jsonl"
    with RecordWriter(path) as writer:
        writer.write(rec(0, "a", value=float("nan")))  # NaN is stored as null
        writer.write(rec(0, "b", name="ü <x>"))
    with open(path, "ab") as handle:
        handle.write(b'{"index": 1, "meth')  # killed mid-line
    assert [r["method"] for r in read_records(path)] == ["a", "b"]  # tail ignored
    assert path.read_bytes().endswith(b'"meth')
    with RecordWriter(path) as writer:  # the owner cuts the tail before appending
        writer.write(rec(1, "a"))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["index"] for line in lines] == [0, 0, 1]
    assert json.loads(lines[0])["value"] is None and json.loads(lines[1])["name"] == "ü <x>"


def test_a_corrupt_complete_line_is_an_error(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"index": 0, "method": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(RecordsError, match=r"records.jsonl:2: not a videocam evaluation record"):
        read_records(path)


def test_merge_dedupes_sorts_and_removes_rank_files(tmp_path):
    with RecordWriter(tmp_path / "records.rank1.jsonl") as writer:
        writer.write(rec(1, "b", v=1))
        writer.write(rec(0, "b", v=2))
    with RecordWriter(tmp_path / "records.jsonl") as writer:
        writer.write(rec(0, "a", v=3))
        writer.write(rec(1, "b", v=1))  # the same record in two files
    found = load_records(tmp_path)
    assert sorted(found) == [(0, "a"), (0, "b"), (1, "b")]
    merged = merge_records(tmp_path, found.values(), ["a", "b"])
    assert [(r["index"], r["method"]) for r in merged] == [(0, "a"), (0, "b"), (1, "b")]
    assert not list(tmp_path.glob("records.rank*.jsonl"))
    assert read_records(tmp_path / "records.jsonl") == merged


def test_prepare_output_refuses_to_mix_runs(tmp_path):
    out = tmp_path / "out"
    settings = {"model": "m", "methods": ["a"], "limit": 3}
    prepare_output(out, settings, resume=False)
    assert json.loads((out / "run.json").read_text())["model"] == "m"
    prepare_output(out, settings, resume=False)  # no records yet: a fresh start is fine
    with RecordWriter(out / "records.jsonl") as writer:
        writer.write(rec(0, "a"))
    with pytest.raises(RecordsError, match="pass --resume"):
        prepare_output(out, settings, resume=False)
    prepare_output(out, {**settings, "limit": 10}, resume=True)  # limit may change
    with pytest.raises(RecordsError, match=r"other settings \(methods: \['a'\] -> \['b'\]\)"):
        prepare_output(out, {**settings, "methods": ["b"]}, resume=True)
    (out / "run.json").unlink()
    with pytest.raises(RecordsError, match="no run.json"):
        prepare_output(out, settings, resume=True)
    with pytest.raises(OutputPathError, match="is a file"):
        prepare_output(out / "records.jsonl", settings, resume=True)
