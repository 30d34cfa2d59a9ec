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

"""Training data: cached labeled frames -> augmented pillars + anchor targets -> batches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from .augment import augment_frame, INTENSITY_GAIN_RANGE
from .targets import TargetAssigner, training_box_mask
from ..core.config import ModelConfig
from ..core.pillars import NUM_POINT_FEATURES, pillarize
from ..core.pointcloud2 import DRIVER_INTENSITY_RANGE, map_intensity
from ..data.dataset import iter_labeled_frames, read_dataset_labels


class CachedFrame(NamedTuple):
    """One frame held in memory: points (N, 4) float32 in the model's intensity range."""

    points: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    num_points: np.ndarray


class Sample(NamedTuple):
    """One training item (numpy): unpadded pillars and its anchor targets."""

    features: np.ndarray     # (P, M, 10) float32
    coords: np.ndarray       # (P, 2) int32 (iy, ix)
    num_points: np.ndarray   # (P,) int32 points per pillar
    labels: np.ndarray       # (K,) int64, -1 ignore / 0 background / class + 1
    box_targets: np.ndarray  # (K, 7) float32
    dir_targets: np.ndarray  # (K,) int64


class Batch(NamedTuple):
    """Stacked samples (torch); pillars zero-padded to the largest count in the batch."""

    features: torch.Tensor     # (B, P, M, 10) float32
    coords: torch.Tensor       # (B, P, 2) int32
    num_pillars: torch.Tensor  # (B,) int32
    num_points: torch.Tensor   # (B, P) int32 points per pillar (0 in padding rows)
    labels: torch.Tensor       # (B, K) int64
    box_targets: torch.Tensor  # (B, K, 7) float32
    dir_targets: torch.Tensor  # (B, K) int64


def load_frames(dataset_dirs: Sequence[str | Path], cfg: ModelConfig,
                max_frames: int | None = None,
                source_intensity: tuple[float, float] = DRIVER_INTENSITY_RANGE,
                progress: bool = True) -> list[CachedFrame]:
    """
    Read every labeled frame of the dataset dirs (up to ``max_frames`` in all) into memory.

    Intensity is mapped from ``source_intensity`` onto ``cfg.intensity_range``; label indices
    are remapped from each labels file's class names onto ``cfg.class_names`` (-1 if absent).
    """
    frames: list[CachedFrame] = []
    bar = tqdm(desc="loading frames", unit="frame", disable=not progress)
    for directory in dataset_dirs:
        if max_frames is not None and len(frames) >= max_frames:
            break
        file_names = read_dataset_labels(directory).class_names
        remap = np.array([cfg.class_names.index(n) if n in cfg.class_names else -1
                          for n in file_names] + [-1], dtype=np.int64)
        for frame in iter_labeled_frames(directory):
            if max_frames is not None and len(frames) >= max_frames:
                break
            points = map_intensity(frame.points, source_intensity, cfg.intensity_range)
            lab = frame.labels
            labels = np.asarray(lab.labels, dtype=np.int64)
            labels = remap[np.where((labels >= 0) & (labels < len(file_names)), labels, -1)]
            frames.append(CachedFrame(np.ascontiguousarray(points, dtype=np.float32),
                                      np.asarray(lab.boxes, np.float32).reshape(-1, 7),
                                      labels, np.asarray(lab.num_points, np.int32)))
            bar.update()
    bar.close()
    return frames


class PillarDataset(Dataset):
    """
    Frames of dataset dirs, cached once; items are :class:`Sample`.

    Index with an int or with ``(epoch, index)``; augmentation (when on) is seeded from
    ``(seed, epoch, index)`` so runs are reproducible whatever the worker layout.
    """

    def __init__(self, dataset_dirs: Sequence[str | Path] | None, cfg: ModelConfig,
                 augment: bool, seed: int = 0, max_frames: int | None = None,
                 frames: Sequence[CachedFrame] | None = None, progress: bool = True,
                 intensity_gain: tuple[float, float] = INTENSITY_GAIN_RANGE) -> None:
        self.cfg = cfg
        self.augment = augment
        self.intensity_gain = intensity_gain
        self.seed = int(seed)
        if frames is None:
            frames = load_frames(dataset_dirs or (), cfg, max_frames, progress=progress)
        self.frames = list(frames)
        self.assigner = TargetAssigner(cfg)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, key: int | tuple[int, int]) -> Sample:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        frame = self.frames[index]
        points, boxes = frame.points, frame.boxes
        if self.augment:
            rng = np.random.default_rng([self.seed, epoch, index])
            points, boxes = augment_frame(points, boxes, rng, self.intensity_gain,
                                          self.cfg.intensity_range[1])
        pillars = pillarize(points, self.cfg.pillars)
        use = training_box_mask(self.cfg, boxes, frame.num_points)
        targets = self.assigner.assign(boxes, frame.labels, use)
        return Sample(pillars.features, pillars.coords, pillars.num_points, targets.labels,
                      targets.box_targets, targets.dir_targets)


def collate(samples: Sequence[Sample]) -> Batch:
    """Stack samples, zero-padding pillars to the batch's largest pillar count (at least 1)."""
    b = len(samples)
    p = max(1, max(s.coords.shape[0] for s in samples))
    m = samples[0].features.shape[1]
    features = np.zeros((b, p, m, NUM_POINT_FEATURES), dtype=np.float32)
    coords = np.zeros((b, p, 2), dtype=np.int32)
    counts = np.zeros(b, dtype=np.int32)
    num_points = np.zeros((b, p), dtype=np.int32)
    for i, s in enumerate(samples):
        n = s.coords.shape[0]
        features[i, :n] = s.features
        coords[i, :n] = s.coords
        num_points[i, :n] = s.num_points
        counts[i] = n
    return Batch(torch.from_numpy(features), torch.from_numpy(coords), torch.from_numpy(counts),
                 torch.from_numpy(num_points),
                 torch.from_numpy(np.stack([s.labels for s in samples])),
                 torch.from_numpy(np.stack([s.box_targets for s in samples])),
                 torch.from_numpy(np.stack([s.dir_targets for s in samples])))


class EpochSampler(Sampler):
    """
    Yields ``(epoch, index)`` keys: a permutation seeded by (seed, epoch).

    Set :attr:`epoch` before iterating; :attr:`skip` drops that many leading keys once
    (to resume in the middle of an epoch).
    """

    def __init__(self, length: int, seed: int, shuffle: bool = True) -> None:
        self.length = length
        self.seed = int(seed)
        self.shuffle = shuffle
        self.epoch = 0
        self.skip = 0

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch, 0x5EED]).permutation(
                self.length)
        else:
            order = np.arange(self.length)
        skip, self.skip = self.skip, 0
        for index in order[skip:]:
            yield (self.epoch, int(index))


def _worker_init(worker_id: int) -> None:
    # two cores in total: the trainer owns them, a worker must not spawn thread pools
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"
    torch.set_num_threads(1)


def make_loader(dataset: PillarDataset, sampler: EpochSampler, batch_size: int,
                num_workers: int = 1) -> DataLoader:
    """Make a DataLoader with full batches only and (if ``num_workers`` > 0) persistent workers."""
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True,
                      collate_fn=collate, num_workers=num_workers,
                      persistent_workers=num_workers > 0, worker_init_fn=_worker_init,
                      prefetch_factor=4 if num_workers > 0 else None)
