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

"""Tests of tao_pointpillars_py.training.data."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tao_pointpillars_py.core.pillars import pillarize  # noqa: E402
from tao_pointpillars_py.training.data import (collate, EpochSampler,  # noqa: E402
                                               PillarDataset)


@pytest.fixture
def dataset(tiny_cfg, tiny_frame):
    return PillarDataset(None, tiny_cfg, augment=True, seed=7, frames=[tiny_frame] * 3,
                         progress=False)


def test_items_are_reproducible_per_epoch_and_index(dataset):
    a, b = dataset[(2, 1)], dataset[(2, 1)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    c = dataset[(3, 1)]
    assert not np.array_equal(a.features, c.features) or a.features.shape != c.features.shape


def test_unaugmented_item_uses_the_runtime_pillarize(tiny_cfg, tiny_frame):
    ds = PillarDataset(None, tiny_cfg, augment=False, frames=[tiny_frame], progress=False)
    item = ds[0]
    ref = pillarize(tiny_frame.points, tiny_cfg.pillars)
    np.testing.assert_array_equal(item.features, ref.features)
    np.testing.assert_array_equal(item.coords, ref.coords)
    assert (item.labels == 1).any() and (item.labels == 2).any()


def test_collate_pads_pillars_with_zeros(dataset):
    items = [dataset[(0, 0)], dataset[(0, 2)]]
    batch = collate(items)
    p = max(i.coords.shape[0] for i in items)
    assert batch.features.shape[:2] == (2, p)
    assert batch.num_pillars.tolist() == [i.coords.shape[0] for i in items]
    for row, item in enumerate(items):
        n = item.coords.shape[0]
        assert torch.all(batch.features[row, n:] == 0)
        assert torch.equal(batch.coords[row, :n], torch.from_numpy(item.coords))
    assert batch.labels.shape == (2, items[0].labels.shape[0])


def test_sampler_is_a_seeded_permutation_and_skips_once():
    sampler = EpochSampler(10, seed=1)
    sampler.epoch = 4
    full = list(sampler)
    assert sorted(i for _, i in full) == list(range(10))
    assert all(e == 4 for e, _ in full)
    sampler.skip = 3
    assert list(sampler) == full[3:]
    assert list(sampler) == full
    sampler.epoch = 5
    assert list(sampler) != full
