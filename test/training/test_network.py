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

"""Tests of tao_pointpillars_py.training.network."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tao_pointpillars_py.core.anchors import anchor_class_indices, generate_anchors  # noqa: E402
from tao_pointpillars_py.training.network import PointPillarsNet  # noqa: E402


def _inputs(cfg, batch, pillars, seed=0):
    rng = np.random.default_rng(seed)
    nx, ny = cfg.pillars.grid_size
    m = cfg.pillars.max_points_per_pillar
    feats = torch.from_numpy(rng.normal(size=(batch, pillars, m, 10)).astype(np.float32))
    cells = np.stack([rng.choice(nx * ny, pillars, replace=False) for _ in range(batch)])
    coords = torch.from_numpy(np.stack([cells // nx, cells % nx], -1).astype(np.int32))
    return feats, coords


@pytest.mark.parametrize("batch", [1, 2])
def test_forward_shapes_match_anchor_count(tiny_cfg, batch):
    net = PointPillarsNet(tiny_cfg).eval()
    feats, coords = _inputs(tiny_cfg, batch, 20)
    with torch.no_grad():
        cls, box, dirs = net(feats, coords, torch.tensor([20] * batch))
    k = generate_anchors(tiny_cfg).reshape(-1, 7).shape[0]
    assert cls.shape == (batch, k, tiny_cfg.num_classes)
    assert box.shape == (batch, k, 7)
    assert dirs.shape == (batch, k, tiny_cfg.num_dir_bins)
    assert cls.dtype == box.dtype == dirs.dtype == torch.float32


def test_cls_bias_starts_at_focal_prior(tiny_cfg):
    net = PointPillarsNet(tiny_cfg)
    assert torch.allclose(torch.sigmoid(net.conv_cls.bias), torch.tensor(0.01))


@pytest.mark.parametrize("iy, ix", [(0, 0), (5, 17), (31, 31)])
def test_single_pillar_changes_only_its_canvas_cell(tiny_cfg, iy, ix):
    net = PointPillarsNet(tiny_cfg)
    feats = torch.rand(1, 4, 64) + 0.5
    coords = torch.tensor([[[iy, ix], [1, 2], [3, 4], [5, 6]]], dtype=torch.int32)
    canvas = net.scatter(feats, coords, torch.tensor([1]))
    nx, ny = tiny_cfg.pillars.grid_size
    assert canvas.shape == (1, 64, ny, nx)
    nonzero = torch.nonzero(canvas.abs().sum(1)[0]).tolist()
    assert nonzero == [[iy, ix]]
    assert torch.equal(canvas[0, :, iy, ix], feats[0, 0])


def test_flattened_outputs_follow_anchor_order(tiny_cfg):
    net = PointPillarsNet(tiny_cfg)
    a, c = tiny_cfg.num_anchors_per_location, tiny_cfg.num_classes
    nx_f, ny_f = tiny_cfg.feature_map_size
    iy, ix, ch = torch.meshgrid(torch.arange(ny_f), torch.arange(nx_f), torch.arange(a * c),
                                indexing="ij")
    code = (ch * 10000 + iy * 100 + ix).permute(2, 0, 1)[None].float()
    flat = net._flatten(code, c)[0].numpy()
    anchors = generate_anchors(tiny_cfg).reshape(-1, 7)
    r = tiny_cfg.pillars.point_cloud_range
    sx = (r[3] - r[0]) / nx_f
    sy = (r[4] - r[1]) / ny_f
    anchor_ix = np.round((anchors[:, 0] - r[0]) / sx - 0.5).astype(int)
    anchor_iy = np.round((anchors[:, 1] - r[1]) / sy - 0.5).astype(int)
    anchor_a = np.tile(np.arange(a), nx_f * ny_f)
    np.testing.assert_array_equal(flat[:, 0] % 100, anchor_ix)
    np.testing.assert_array_equal((flat[:, 0] // 100) % 100, anchor_iy)
    np.testing.assert_array_equal(flat[:, 0] // 10000, anchor_a * c)
    assert set(anchor_class_indices(tiny_cfg)) == set(range(c))


def test_padded_pillars_do_not_change_outputs(tiny_cfg):
    net = PointPillarsNet(tiny_cfg).eval()
    feats, coords = _inputs(tiny_cfg, 1, 30, seed=3)
    garbage_feats, garbage_coords = _inputs(tiny_cfg, 1, 30, seed=4)
    padded_feats = torch.cat([feats[:, :10], garbage_feats[:, :20]], 1)
    padded_coords = torch.cat([coords[:, :10], garbage_coords[:, :20]], 1)
    with torch.no_grad():
        ref = net(feats[:, :10], coords[:, :10], torch.tensor([10]))
        out = net(padded_feats, padded_coords, torch.tensor([10]))
    for a, b in zip(ref, out):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_bf16_forward_is_close_to_fp32(tiny_cfg):
    net = PointPillarsNet(tiny_cfg).eval()
    feats, coords = _inputs(tiny_cfg, 1, 30, seed=5)
    with torch.no_grad():
        ref = net(feats, coords, torch.tensor([30]))
        net.bf16 = True
        net.to(memory_format=torch.channels_last)
        out = net(feats, coords, torch.tensor([30]))
    for a, b in zip(ref, out):
        assert b.dtype == torch.float32
        assert torch.isfinite(b).all()
        assert (a - b).abs().max() < 0.1 * (a.abs().max() + 1)


def test_packed_training_pfn_equals_dense_pfn(tiny_cfg):
    from tao_pointpillars_py.training.network import PillarFeatureNet
    rng = np.random.default_rng(6)
    b, p, m = 2, 12, tiny_cfg.pillars.max_points_per_pillar
    counts = rng.integers(1, m + 1, (b, p)).astype(np.int32)
    counts[1, 9:] = 0  # padding rows
    counts[0, 0] = m
    feats = rng.normal(size=(b, p, m, 10)).astype(np.float32) * 5
    feats[np.arange(m)[None, None] >= counts[..., None]] = 0.0
    dense, packed = PillarFeatureNet(), PillarFeatureNet()
    packed.load_state_dict(dense.state_dict())
    with torch.no_grad():
        dense.norm.bias.uniform_(-1, 1)
        packed.norm.bias.copy_(dense.norm.bias)
    x1 = torch.from_numpy(feats).requires_grad_()
    x2 = torch.from_numpy(feats.copy()).requires_grad_()
    out_dense = dense(x1)
    out_packed = packed(x2, torch.from_numpy(counts))
    torch.testing.assert_close(out_packed, out_dense, rtol=1e-4, atol=1e-4)
    weights = torch.randn_like(out_dense)
    (out_dense * weights).sum().backward()
    (out_packed * weights).sum().backward()
    torch.testing.assert_close(packed.linear.weight.grad, dense.linear.weight.grad,
                               rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(packed.norm.bias.grad, dense.norm.bias.grad, rtol=1e-3, atol=1e-3)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(packed.norm, name), getattr(dense.norm, name))
