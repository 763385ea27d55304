"""The UEA .ts loader: exact parses of hand-written files, errors naming file and line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.errors import FormatError, SnncError
from snnc.models.datasets import (
    DATA_DIR,
    load_basicmotions,
    load_japanese_vowels,
    load_ts,
    read_ts,
)

HEADER = """# a comment
#
@problemName Tiny
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 3
@classLabel true walk run
@data
"""


def _write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    p = tmp_path / "tiny.ts"
    p.write_text(header + body)
    return p


def test_equal_length_parses_exactly(tmp_path: Path) -> None:
    p = _write(tmp_path, "1,2,3:4,5,6:walk\n\n-0.5,0.25,1e-3:7,8,9.5:run\n")
    X, labels = load_ts(p)
    want = np.array([[[1, 2, 3], [4, 5, 6]], [[-0.5, 0.25, 1e-3], [7, 8, 9.5]]], np.float32)
    assert X.dtype == np.float32 and X.shape == (2, 2, 3)
    np.testing.assert_array_equal(X, want)
    assert labels == ["walk", "run"]
    f = read_ts(p)
    assert f.problem_name == "Tiny" and f.class_names == ["walk", "run"]
    assert f.lengths.tolist() == [3, 3]


def test_unequal_lengths_are_nan_padded(tmp_path: Path) -> None:
    header = HEADER.replace("@equalLength true", "@equalLength false").replace(
        "@seriesLength 3\n", "")
    p = _write(tmp_path, "1,2:3,4:run\n5,6,7,8:9,10,11,12:walk\n", header)
    f = read_ts(p)
    assert f.X.shape == (2, 2, 4)
    np.testing.assert_array_equal(f.X[0, :, :2], [[1, 2], [3, 4]])
    assert np.isnan(f.X[0, :, 2:]).all()
    np.testing.assert_array_equal(f.X[1], [[5, 6, 7, 8], [9, 10, 11, 12]])
    assert f.lengths.tolist() == [2, 4]


BAD_CASES = {
    "missing value": ("1,?,3:4,5,6:walk\n", 12, "missing value"),
    "wrong channel count": ("1,2,3:4,5,6:walk\n1,2,3:run\n", 13, "1 channels"),
    "unknown label": ("1,2,3:4,5,6:jump\n", 12, "unknown class label 'jump'"),
    "not a number": ("1,2,3:4,x5,6:walk\n", 12, "'x5' is not a number"),
    "empty value": ("1,,3:4,5,6:walk\n", 12, "'' is not a number"),
    "no colon": ("1,2,3\n", 12, "no ':'"),
    "wrong length": ("1,2,3:4,5,6:walk\n1,2:4,5:run\n", 13, "series length 2"),
    "ragged channels": ("1,2,3:4,5:walk\n", 12, "channel 1 has 2 values"),
    "non-finite": ("1,inf,3:4,5,6:walk\n", 12, "non-finite"),
}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_malformed_data_line_names_file_and_line(tmp_path: Path, name: str) -> None:
    body, line, msg = BAD_CASES[name]
    p = _write(tmp_path, body)
    with pytest.raises(FormatError) as ei:
        load_ts(p)
    text = str(ei.value)
    assert str(p) in text and f"line {line}:" in text and msg in text, text
    assert ei.value.path == p


@pytest.mark.parametrize("header, line, msg", [
    (HEADER.replace("@timeStamps false", "@timeStamps true"), 4, "timeStamps true"),
    (HEADER.replace("@classLabel true walk run", "@classLabel false"), 10, "not supported"),
    (HEADER.replace("@dimensions 2", "@dimensions two"), 7, "positive integer"),
    (HEADER.replace("@missing false", "@missing maybe"), 5, "true or false"),
    (HEADER.replace("@problemName Tiny", "@frobnicate 1"), 3, "unknown header"),
    (HEADER.replace("@classLabel true walk run\n", ""), 10, "@data before @classLabel"),
    (HEADER.replace("@dimensions 2", "1,2,3"), 7, "expected a header line"),
])
def test_malformed_header_names_file_and_line(tmp_path: Path, header: str, line: int,
                                              msg: str) -> None:
    p = _write(tmp_path, "1,2,3:4,5,6:walk\n", header)
    with pytest.raises(FormatError, match=re.escape(f"line {line}:")) as ei:
        load_ts(p)
    assert str(p) in str(ei.value) and msg in str(ei.value)


def test_missing_data_section_and_missing_file(tmp_path: Path) -> None:
    p = _write(tmp_path, "", HEADER.replace("@data\n", ""))
    with pytest.raises(FormatError, match="no @data"):
        load_ts(p)
    p = _write(tmp_path, "")
    with pytest.raises(FormatError, match="no cases"):
        load_ts(p)
    with pytest.raises(FormatError, match="cannot read"):
        load_ts(tmp_path / "absent.ts")


def test_basicmotions_shapes_and_raw_values() -> None:
    X, y, classes = load_basicmotions("train")
    assert X.shape == (40, 100, 6) and X.dtype == np.float32
    assert classes == ["Standing", "Running", "Walking", "Badminton"]
    assert np.bincount(y).tolist() == [10, 10, 10, 10]
    # Independent check of the time-major layout against the raw first data line.
    lines = (DATA_DIR / "BasicMotions" / "BasicMotions_TRAIN.ts").read_text().splitlines()
    first = next(ln for ln in lines if ln and ln[0] not in "#@")
    chans = first.split(":")
    for c in range(6):
        np.testing.assert_array_equal(X[0, :, c], np.float32([float(v) for v in chans[c].split(",")]))
    assert classes[y[0]] == chans[-1]
    Xt, yt, _ = load_basicmotions("test")
    assert Xt.shape == (40, 100, 6) and np.bincount(yt).tolist() == [10, 10, 10, 10]


def test_japanese_vowels_zero_padding_and_lengths() -> None:
    X, lengths, y, classes = load_japanese_vowels("train")
    assert X.shape == (270, 29, 12) and X.dtype == np.float32
    assert classes == [str(i) for i in range(1, 10)]
    assert lengths.min() >= 7 and lengths.max() <= 29
    assert np.bincount(y).tolist() == [30] * 9
    for i in range(len(X)):
        assert not X[i, lengths[i]:].any()  # zeros after the utterance ends
        assert np.isfinite(X[i]).all()
    Xt, lt, yt, _ = load_japanese_vowels("test")
    assert Xt.shape == (370, 29, 12) and lt.max() == 29 and len(yt) == 370


def test_bad_split_is_a_clear_error() -> None:
    with pytest.raises(SnncError, match="split must be one of"):
        load_basicmotions("validation")
