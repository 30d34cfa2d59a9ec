# Copyright 2026 tao_pointpillars_py developers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Tests of data.scan_files: KITTI-style .bin scans and the cloud summary."""

import numpy as np
import pytest

from tao_pointpillars_py.data.scan_files import (CloudSummary, read_scan_file, ScanFileError,
                                                 sorted_scan_files, write_scan_file)


def test_scan_round_trip_is_exact_little_endian_float32(tmp_path):
    points = np.random.default_rng(1).normal(size=(123, 4)).astype(np.float32)
    path = tmp_path / "000001.bin"
    write_scan_file(path, points)
    assert path.stat().st_size == 123 * 16
    assert np.array_equal(np.frombuffer(path.read_bytes(), "<f4").reshape(-1, 4), points)
    assert np.array_equal(read_scan_file(path), points)


def test_file_not_a_multiple_of_16_bytes_is_refused_with_the_byte_counts(tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes(bytes(16 * 5 + 7))
    with pytest.raises(ScanFileError, match=r"87 bytes, not a multiple of 16 .*\(7 bytes left "
                       r"over after 5 points"):
        read_scan_file(path)


def test_files_and_folders_are_sorted_by_name(tmp_path):
    for name in ("000010.bin", "000002.bin", "notes.txt"):
        (tmp_path / name).write_bytes(bytes(16))
    extra = tmp_path / "other" / "000005.bin"
    extra.parent.mkdir()
    extra.write_bytes(bytes(16))
    names = [p.name for p in sorted_scan_files([tmp_path, extra])]
    assert names == ["000002.bin", "000005.bin", "000010.bin"]
    with pytest.raises(ScanFileError, match="does not exist"):
        sorted_scan_files([tmp_path / "missing.bin"])
    with pytest.raises(ScanFileError, match="no scan files"):
        sorted_scan_files([])


def test_summary_counts_ranges_and_intensity_spread():
    summary = CloudSummary()
    summary.add(np.array([[0, 1, 2, 1], [4, -5, 6, 3]], np.float32))
    summary.add(np.array([[-1, 0, 0, 200]], np.float32))
    assert summary.points_per_cloud == [2, 1]
    assert list(summary.low) == [-1, -5, 0] and list(summary.high) == [4, 1, 6]
    median, _, top = summary.intensity_figures()
    assert (median, top) == (3, 200)
    assert summary.lines()[0] == "2 clouds, points per cloud: min 1, mean 2, max 2"
    assert CloudSummary().lines() == ["no clouds"]
