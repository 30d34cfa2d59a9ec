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
The ways of running one model that ``bench`` and ``precision-report`` compare, side by side.

:func:`build_variants` lists them, one :class:`Variant` each: ONNX Runtime fp32 and int8 (the
CPU form the node runs and the Q/DQ model as stored), TensorRT fp32 / fp16 / int8 where a GPU
is present, and optionally the PyTorch eager network; a variant this machine cannot run keeps
its row with the reason. :func:`interleaved` runs every variant on each frame in turn, so that
a noisy machine slows every variant alike and the ratios between them hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, TypeVar

from .torch_baseline import torch_detector, torch_importable
from ..core.config import PostProcessConfig
from ..errors import ConfigError, PointPillarsError
from ..inference.backends import tensorrt_available
from ..inference.detector import Detector
from ..inference.model_file import int8_model_path, load_model_info, ModelContract

__all__ = ["NO_TENSORRT", "UNTRAINED", "Variant", "build_variants", "interleaved"]

NO_TENSORRT = "not available: no GPU / TensorRT on this machine"
UNTRAINED = ("same architecture and input shapes, untrained weights: timing only (its post ms "
             "decodes untrained scores)")
AS_STORED = "as stored: TensorRT's numerics (symmetric int8, float ReLUs and heads)"
EAGER_LABEL = "PyTorch eager fp32 (CPU)"

FrameT = TypeVar("FrameT")
ResultT = TypeVar("ResultT")


@dataclass
class Variant:
    """One way of running the model: a label, the detector, and where it came from."""

    label: str
    detector: Detector | None  # None: not measurable on this machine
    model_name: str = ""
    note: str = ""


def build_variants(model: str | Path, threads: int = 1, *, int8: str | Path | None = None,
                   score_threshold: float | None = None, tensorrt: bool | None = None,
                   torch: bool | None = None, eager_baseline: bool = True) -> list[Variant]:
    """
    Give every variant of ``model`` this machine has, and rows for those it has not.

    ``int8``: its Q/DQ model (default: ``<stem>.int8.onnx`` next to it). ``tensorrt`` /
    ``torch``: whether to run those (default: where they are installed). ``eager_baseline``:
    list the PyTorch row at all.
    """
    model = Path(model)
    if model.name.endswith(".int8.onnx"):
        raise ConfigError(f"{model} is an int8 model; give the fp32 one (its int8 model is "
                          "found next to it as <stem>.int8.onnx)")
    int8 = Path(int8) if int8 is not None else int8_model_path(model)
    post = None if score_threshold is None else PostProcessConfig(score_threshold=score_threshold)

    def onnxruntime(path: Path, int8_lowering: bool = True) -> Detector:
        return Detector.from_model(str(path), post=post, backend_options={
            "threads": threads, "int8_lowering": int8_lowering})

    variants = [Variant("ONNX Runtime fp32 (CPU)", onnxruntime(model), model.name)]
    variants += _onnxruntime_int8(int8, onnxruntime)
    variants += _tensorrt(model, int8, post, tensorrt_available() if tensorrt is None
                          else tensorrt)
    if eager_baseline:
        variants.append(_eager(model, threads, torch_importable() if torch is None else torch))
    return variants


def _onnxruntime_int8(int8: Path, onnxruntime: Callable[..., Detector]) -> list[Variant]:
    labels = ("ONNX Runtime int8 (CPU)", "ONNX Runtime int8, Q/DQ as stored (CPU)")
    if not int8.is_file():
        missing = (f"not available: no Q/DQ model {int8.name} (make it with `tao-pointpillars "
                   "calibrate`)")
        return [Variant(label, None, int8.name, missing) for label in labels]
    cpu_int8 = onnxruntime(int8)
    lowering = cpu_int8.backend.describe()
    return [Variant(labels[0], cpu_int8, int8.name,
                    "what the node runs: " + lowering if lowering else "the Q/DQ model as stored"),
            Variant(labels[1], onnxruntime(int8, False), int8.name, AS_STORED)]


def _tensorrt(model: Path, int8: Path, post: PostProcessConfig | None,
              gpu: bool) -> list[Variant]:
    variants = []
    for precision in ("fp32", "fp16", "int8"):
        source = int8 if precision == "int8" and int8.is_file() else model
        label = f"TensorRT {precision}"
        if not gpu:
            variants.append(Variant(label, None, source.name, NO_TENSORRT))
            continue
        try:
            detector = Detector.from_model(str(source), backend="tensorrt", post=post,
                                           backend_options={"precision": precision})
        except PointPillarsError as exc:  # e.g. implicit int8 without a calibration cache
            variants.append(Variant(label, None, source.name, f"not available: {exc}"))
        else:
            variants.append(Variant(label, detector, source.name))
    return variants


def _eager(model: Path, threads: int, torch: bool) -> Variant:
    if not torch:
        return Variant(EAGER_LABEL, None, model.name,
                       "not available: torch does not import (the [train] extra)")
    if load_model_info(str(model)).contract is not ModelContract.NATIVE:
        return Variant(EAGER_LABEL, None, model.name,
                       "not available: a TAO model has no PyTorch network here")
    return Variant(EAGER_LABEL, torch_detector(model, threads), model.name, UNTRAINED)


def interleaved(runs: Sequence[Callable[[FrameT], ResultT]], frames: Sequence[FrameT],
                rounds: int,
                progress: Callable[[int], None] | None = None) -> list[list[ResultT]]:
    """
    Give each run's results, every frame run by every run in turn, ``rounds`` times.

    A first, warm-up pass over the frames comes before and is not kept, so each list holds
    ``rounds * len(frames)`` results in (round, frame) order. ``progress(1)`` is called per
    frame (all runs).
    """
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    results: list[list[ResultT]] = [[] for _ in runs]
    for round_index in range(rounds + 1):
        for frame in frames:
            for index, run in enumerate(runs):
                value = run(frame)
                if round_index:
                    results[index].append(value)
            if progress is not None:
                progress(1)
    return results
