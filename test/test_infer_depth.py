# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``sspanoptic-infer --depth DIR --intrinsics``: one labelled PLY per image, read back here."""

import numpy as np
import pytest

from sspanoptic_ros.data.coco import read_panoptic_png, write_rgb
from sspanoptic_ros.data.depth_files import depth_mm, write_depth_png
from sspanoptic_ros.data.synthetic_depth import render_rgbd
from sspanoptic_ros.infer import main
from sspanoptic_ros.paths import default_model_path


def read_ply(path) -> np.ndarray:
    data = path.read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    assert header[:2] == ["ply", "format binary_little_endian 1.0"]
    types = {"float": "<f4", "uchar": "u1", "uint": "<u4"}
    dtype = [(line.split()[2], types[line.split()[1]]) for line in header if line.startswith("property")]
    vertices = np.frombuffer(data[end:], dtype)
    assert f"element vertex {len(vertices)}" in header
    return vertices


def test_infer_writes_a_ply_of_every_valid_depth_pixel_with_its_panoptic_label(tmp_path):
    frame = render_rgbd(4, 128, 192)
    (tmp_path / "images").mkdir()
    (tmp_path / "depth").mkdir()
    write_rgb(tmp_path / "images" / "scene.png", frame.rgb)
    write_depth_png(tmp_path / "depth" / "scene.png", frame.depth)
    code = main(["--backend", "torch", "--device", "cpu", "--model", str(default_model_path()),
                 "--out", str(tmp_path / "out"), "--depth", str(tmp_path / "depth"),
                 "--intrinsics", *map(str, frame.k), str(tmp_path / "images")])
    assert code == 0
    ply = read_ply(tmp_path / "out" / "clouds" / "scene.ply")
    metres = depth_mm(frame.depth) / 1000.0
    assert len(ply) == np.count_nonzero((metres >= 0.1) & (metres <= 20.0))
    fx, fy, cx, cy = frame.k
    u = np.rint(fx * ply["x"] / ply["z"] + cx).astype(int)
    v = np.rint(fy * ply["y"] / ply["z"] + cy).astype(int)
    np.testing.assert_allclose(ply["z"], metres[v, u], atol=1e-4)
    panoptic = read_panoptic_png(tmp_path / "out" / "panoptic" / "scene.png")
    np.testing.assert_array_equal(ply["label"], panoptic[v, u])
    assert len(np.unique(ply["label"] // 1000)) > 2 and ply["red"].max() > 0


def test_infer_refuses_depth_without_intrinsics(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--depth", str(tmp_path), str(tmp_path)])
