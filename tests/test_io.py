"""Atomic writes: a killed write leaves the old file."""

import numpy as np
import pytest

from mlib.core import io


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path):
    target = tmp_path / "result.json"
    io.write_json(target, {"rank1": 0.5})
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text().strip().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_write_npy_round_trip(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    io.write_npy(tmp_path / "a.npy", array)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), array)
