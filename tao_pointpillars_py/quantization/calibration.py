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

"""
Calibration frames for int8: clouds drawn evenly over whole bags, as model inputs.

The frames go through :meth:`Detector.model_inputs` (the node's own intensity mapping and
pillarization), so what the quantizer measures is exactly what the model sees at run time.
TensorRT's calibration-cache files are :mod:`..inference.backends.tensorrt.calibration_cache`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..data.bags import count_clouds, read_clouds
from ..errors import ConfigError
from ..inference.detector import Detector

ModelInputs = dict[str, np.ndarray]


def spread_indices(total: int, count: int) -> np.ndarray:
    """
    ``count`` distinct indices spread evenly over ``range(total)``, first and last included.

    Consecutive lidar frames are nearly identical; spreading over the whole recording covers
    its scenes, where the first N frames would cover a few seconds of one.
    """
    if total < 0 or count < 1:
        raise ConfigError(f"need total >= 0 and count >= 1, got total {total}, count {count}")
    if count >= total:
        return np.arange(total, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, total - 1, count)).astype(np.int64))


def calibration_inputs(bags: Sequence[str | Path], topic: str | None, frames: int,
                       detector: Detector,
                       progress: Callable[[int], None] | None = None) -> list[ModelInputs]:
    """
    Model inputs of ``frames`` clouds spread over all ``bags`` (one topic, or all clouds).

    Clouds are streamed; only the chosen ones are preprocessed and kept (copies: the
    detector's buffers are reused from call to call). ``progress(1)`` is called per frame.
    """
    topics = None if topic is None else [topic]
    counts = [count_clouds(bag, topics) for bag in bags]
    total = sum(counts)
    if total == 0:
        where = "" if topic is None else f" on {topic}"
        raise ConfigError(f"no PointCloud2 messages{where} in {[str(b) for b in bags]}; pass "
                          "bags with lidar clouds (and --topic)")
    chosen = set(spread_indices(total, frames).tolist())
    result: list[ModelInputs] = []
    for index, points in enumerate(_all_points(bags, topics)):
        if index in chosen:
            result.append({k: np.array(v, copy=True)
                           for k, v in detector.model_inputs(points).items()})
            if progress is not None:
                progress(1)
    return result


def _all_points(bags: Sequence[str | Path], topics: list[str] | None) -> Iterator[np.ndarray]:
    for bag in bags:
        for cloud in read_clouds(bag, topics):
            yield cloud.points
