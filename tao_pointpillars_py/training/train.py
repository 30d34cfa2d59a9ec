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

"""Training loop: AdamW + one-cycle LR (by steps or time budget), bf16 backbone, resumable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from itertools import islice
import json
from pathlib import Path
import time
from typing import Any, Sequence

import torch
from tqdm import tqdm

from .augment import INTENSITY_GAIN_RANGE
from .checkpoint import load_checkpoint, restore_rng_states, rng_states, save_checkpoint
from .data import Batch, CachedFrame, EpochSampler, make_loader, PillarDataset
from .export import frame_inputs
from .losses import LossParts, pointpillars_loss
from .network import PointPillarsNet
from .schedule import OneCycleSchedule, run_progress
from .warm_start import exported_model_config, is_onnx_file, model_from_exported_onnx
from ..core.config import ModelConfig
from ..core.input_health import pooled_intensity_percentiles
from ..errors import ConfigError

LAST_CHECKPOINT = "last.ckpt"
LOG_FILE = "train_log.jsonl"
WARMUP_STEPS = 5
#: options that define the run; a resumed run must use the checkpoint's values.
RUN_DEFINING = ("epochs", "batch_size", "lr", "seed", "max_frames", "data", "time_budget_min",
                "init_from", "qat_percentile", "intensity_gain")
#: batches whose convolution inputs set the ranges of quantization-aware fine-tuning
QAT_RANGE_BATCHES = 25
#: frames whose statistics rebuild the BatchNorms an exported model folded (--init-from X.onnx)
WARM_START_FRAMES = 16


@dataclass(frozen=True)
class TrainOptions:
    """Settings of one training run (the ``tao-pointpillars train`` arguments)."""

    data: tuple[str, ...]
    out: str
    epochs: int = 80
    batch_size: int = 4
    lr: float = 3e-3
    seed: int = 0
    max_frames: int | None = None
    time_budget_min: float | None = None
    init_from: str | None = None
    #: quantization-aware fine-tuning: int8 simulated at every convolution input, ranges at
    #: this percentile of |x| (as ``calibrate --percentile``); None: plain float training
    qat_percentile: float | None = None
    #: log-uniform intensity gain augmentation range; (1, 1) turns it off
    intensity_gain: tuple[float, float] = INTENSITY_GAIN_RANGE
    bf16: bool = True
    weight_decay: float = 0.01
    grad_clip: float = 10.0
    num_workers: int = 1
    threads: int = 2
    checkpoint_seconds: float = 600.0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ConfigError("epochs and batch size must be >= 1 and lr > 0")
        if self.time_budget_min is not None and not self.time_budget_min > 0:
            raise ConfigError("--time-budget-min must be > 0")
        if self.qat_percentile is not None and not 50.0 < self.qat_percentile <= 100.0:
            raise ConfigError("--qat-percentile must be in (50, 100]")
        low, high = self.intensity_gain
        if not 0.0 < low <= high:
            raise ConfigError(f"--intensity-gain {low} {high}: need 0 < LOW <= HIGH")


@dataclass
class TrainState:
    """Mutable progress of a run."""

    epoch: int = 0          # completed epochs
    global_step: int = 0    # optimizer steps taken
    train_seconds: float = 0.0  # wall time spent in training steps (drives a time budget)
    step_seconds: list[float] = field(default_factory=list)


def epoch_checkpoint_name(epoch: int) -> str:
    """File name of the checkpoint written after (1-based) ``epoch``."""
    return f"epoch_{epoch:02d}.ckpt"


def resume_options(opts: TrainOptions, saved_args: dict[str, Any],
                   given: Sequence[str] = ()) -> TrainOptions:
    """
    Options of a resumed run: run-defining values come from the checkpoint.

    ``given`` names the options the user passed explicitly; a given value that differs from the
    checkpoint's raises ConfigError (the schedule and data order would no longer match).
    """
    updates: dict[str, Any] = {}
    for name in RUN_DEFINING:
        if name not in saved_args:  # a checkpoint older than the option keeps its default
            continue
        saved = saved_args[name]
        if name in ("data", "intensity_gain") and saved is not None:
            saved = tuple(saved)
        current = getattr(opts, name)
        if name in given and current != saved:
            raise ConfigError(f"--{name.replace('_', '-')} {current} differs from the resumed "
                              f"run's {saved}; drop it or start a new --out directory")
        updates[name] = saved
    return replace(opts, **updates)


class Trainer:
    """Owns the model, optimizer, schedule and data of one run."""

    def __init__(self, opts: TrainOptions, cfg: ModelConfig | None = None,
                 frames: Sequence[CachedFrame] | None = None,
                 state: dict[str, Any] | None = None) -> None:
        torch.set_num_threads(opts.threads)
        self.opts = opts
        init_state = None
        if state is not None:
            cfg = ModelConfig.from_metadata(state["model_config"], source="checkpoint")
        elif opts.init_from and is_onnx_file(opts.init_from):
            cfg = exported_model_config(opts.init_from)
        elif opts.init_from:
            # fine-tuning: the start checkpoint's weights and geometry, a fresh optimizer and
            # schedule
            init_state = load_checkpoint(opts.init_from)
            cfg = ModelConfig.from_metadata(init_state["model_config"], source=opts.init_from)
        self.cfg = cfg or ModelConfig()
        torch.manual_seed(opts.seed)
        self.dataset = PillarDataset(opts.data, self.cfg, augment=True, seed=opts.seed,
                                     max_frames=opts.max_frames, frames=frames,
                                     progress=opts.progress,
                                     intensity_gain=tuple(opts.intensity_gain))
        # the calibrated data's intensity (before gain augmentation), for the model metadata
        self.training_intensity = pooled_intensity_percentiles(
            [f.points for f in self.dataset.frames], self.cfg.pillars.point_cloud_range)
        self.steps_per_epoch = len(self.dataset) // opts.batch_size
        if self.steps_per_epoch < 1:
            raise ConfigError(f"{len(self.dataset)} frames do not fill one batch of "
                              f"{opts.batch_size}; add data or lower --batch-size")
        self.model = PointPillarsNet(self.cfg)
        if init_state is not None:
            self.model.load_state_dict(init_state["model"])
        elif state is None and opts.init_from and is_onnx_file(opts.init_from):
            self.model, _ = model_from_exported_onnx(
                opts.init_from, [frame_inputs(f.points, self.cfg)
                                 for f in self.dataset.frames[:WARM_START_FRAMES]])
        if opts.bf16:
            self.model.bf16 = True
            self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=opts.lr,
                                           weight_decay=opts.weight_decay)
        self.schedule = OneCycleSchedule(max_lr=opts.lr)
        self.total_steps = opts.epochs * self.steps_per_epoch
        self.budget_seconds = (opts.time_budget_min * 60.0 if opts.time_budget_min else None)
        self.state = TrainState()
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.state = TrainState(int(state["epoch"]), int(state["global_step"]),
                                    train_seconds=float(state.get("train_seconds", 0.0)))
            restore_rng_states(state["rng"])
        self.sampler = EpochSampler(len(self.dataset), opts.seed)
        self.loader = make_loader(self.dataset, self.sampler, opts.batch_size, opts.num_workers)
        self.quant_ranges: dict[str, float] = {}
        if opts.qat_percentile is not None:
            self._attach_fake_quant(opts.qat_percentile)

    def _attach_fake_quant(self, percentile: float) -> None:
        """Measure convolution input ranges on the first batches, then simulate int8."""
        from .fake_quant import attach_fake_quant, input_ranges

        self.sampler.epoch, self.sampler.skip = 0, 0
        self.quant_ranges = input_ranges(self.model, islice(iter(self.loader),
                                                            QAT_RANGE_BATCHES), percentile)
        attach_fake_quant(self.model, self.quant_ranges)

    @property
    def progress(self) -> float:
        """Fraction of the schedule done, by steps or (with a budget) by training time."""
        return run_progress(self.state.global_step, self.total_steps, self.state.train_seconds,
                            self.budget_seconds)

    def step(self, batch: Batch) -> LossParts:
        """One optimizer step on a batch; returns the loss terms (detached)."""
        self.model.train()
        self.last_lr = self.schedule.apply(self.optimizer, self.progress)
        cls, box, dirs = self.model(batch.features, batch.coords, batch.num_pillars,
                                    batch.num_points)
        parts = pointpillars_loss(cls, box, dirs, batch.labels, batch.box_targets,
                                  batch.dir_targets)
        self.optimizer.zero_grad(set_to_none=True)
        if torch.isfinite(parts.total):
            parts.total.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.opts.grad_clip)
            self.optimizer.step()
        else:
            tqdm.write(f"step {self.state.global_step}: non-finite loss, update skipped")
        self.state.global_step += 1
        return LossParts(*(p.detach() for p in parts))

    def checkpoint_state(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimizer, schedule, RNG, args."""
        args = asdict(self.opts)
        args["data"] = list(self.opts.data)
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "quant_ranges": dict(self.quant_ranges),
                "epoch": self.state.epoch, "global_step": self.state.global_step,
                "train_seconds": self.state.train_seconds,
                "model_config": self.cfg.to_metadata(), "args": args, "rng": rng_states(),
                "training_intensity": list(self.training_intensity or ())}

    def _batches(self, epoch: int, skip_batches: int) -> Any:
        self.sampler.epoch = epoch
        self.sampler.skip = skip_batches * self.opts.batch_size
        return iter(self.loader)

    def time_steps(self, steps: int) -> tuple[float, float]:
        """Run ``steps`` steps (cycling epochs); (mean, median) seconds per step after warm-up."""
        durations: list[float] = []
        epoch = 0
        bar = tqdm(total=steps, desc="timing", disable=not self.opts.progress)
        while len(durations) < steps:
            t0 = time.perf_counter()
            for batch in self._batches(epoch, 0):
                self.step(batch)
                durations.append(time.perf_counter() - t0)
                bar.update()
                t0 = time.perf_counter()
                if len(durations) >= steps:
                    break
            epoch += 1
        bar.close()
        kept = sorted(durations[min(WARMUP_STEPS, max(0, len(durations) - 1)):])
        return sum(kept) / len(kept), kept[len(kept) // 2]

    def fit(self) -> TrainState:
        """Train to ``opts.epochs``, checkpointing into ``opts.out``; returns the final state."""
        out = Path(self.opts.out)
        out.mkdir(parents=True, exist_ok=True)
        spe = self.steps_per_epoch
        last_save = time.monotonic()
        reported = False
        while self.progress < 1.0:
            epoch = self.state.global_step // spe
            skip = self.state.global_step % spe
            sums = torch.zeros(4, dtype=torch.float64)
            count = 0
            epoch_start = time.perf_counter()
            bar = tqdm(total=spe, initial=skip, desc=f"epoch {epoch + 1}/{self.opts.epochs}",
                       disable=not self.opts.progress, dynamic_ncols=True)
            t0 = time.perf_counter()
            for batch in self._batches(epoch, skip):
                parts = self.step(batch)
                dt = time.perf_counter() - t0
                t0 = time.perf_counter()
                self.state.step_seconds.append(dt)
                self.state.train_seconds += dt
                sums += torch.stack([p.double() for p in parts])
                count += 1
                bar.set_postfix(loss=f"{parts.total.item():.3f}", cls=f"{parts.cls.item():.3f}",
                                box=f"{parts.box.item():.3f}", dir=f"{parts.dir.item():.3f}",
                                sps=f"{self.opts.batch_size / max(dt, 1e-9):.1f}")
                bar.update()
                if not reported and len(self.state.step_seconds) >= 2 * WARMUP_STEPS:
                    reported = True
                    tqdm.write(f"step time after warm-up: {self._mean_step_time():.3f} s/step "
                               f"(batch {self.opts.batch_size}, {spe} steps/epoch)")
                if time.monotonic() - last_save > self.opts.checkpoint_seconds:
                    save_checkpoint(out / LAST_CHECKPOINT, self.checkpoint_state())
                    last_save = time.monotonic()
                if self.progress >= 1.0:  # time budget spent: the schedule has ended
                    break
            bar.close()
            self.state.epoch = epoch + 1
            state = self.checkpoint_state()
            save_checkpoint(out / LAST_CHECKPOINT, state)
            save_checkpoint(out / epoch_checkpoint_name(epoch + 1), state)
            last_save = time.monotonic()
            self._log(out, epoch + 1, sums / max(count, 1), count,
                      time.perf_counter() - epoch_start)
        return self.state

    def _mean_step_time(self) -> float:
        kept = self.state.step_seconds[WARMUP_STEPS:] or self.state.step_seconds
        return sum(kept) / max(len(kept), 1)

    def _log(self, out: Path, epoch: int, means: torch.Tensor, steps: int,
             seconds: float) -> None:
        record = {"epoch": epoch, "global_step": self.state.global_step, "steps": steps,
                  "loss": float(means[0]), "cls": float(means[1]), "box": float(means[2]),
                  "dir": float(means[3]), "lr": float(getattr(self, "last_lr", 0.0)),
                  "progress": round(self.progress, 4),
                  "train_seconds": round(self.state.train_seconds, 1),
                  "seconds": round(seconds, 2),
                  "samples_per_s": round(steps * self.opts.batch_size / max(seconds, 1e-9), 3),
                  "step_seconds": round(self._mean_step_time(), 4)}
        with open(out / LOG_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        tqdm.write(f"epoch {epoch}: loss {record['loss']:.4f} (cls {record['cls']:.4f} "
                   f"box {record['box']:.4f} dir {record['dir']:.4f}) "
                   f"{record['samples_per_s']} samples/s")


def train(opts: TrainOptions, cfg: ModelConfig | None = None,
          frames: Sequence[CachedFrame] | None = None, resume: bool = False,
          given: Sequence[str] = ()) -> TrainState:
    """Train (or, with ``resume``, continue ``opts.out``/last.ckpt) and return the final state."""
    state = None
    if resume:
        state = load_checkpoint(Path(opts.out) / LAST_CHECKPOINT)
        opts = resume_options(opts, state["args"], given)
    return Trainer(opts, cfg, frames, state).fit()
