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

"""``tao-pointpillars train``: train a PointPillars model on labeled dataset directories."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ConfigError
from ..training.augment import INTENSITY_GAIN_RANGE

DEFAULTS = {"epochs": 80, "batch_size": 4, "lr": 3e-3, "seed": 0, "max_frames": None,
            "time_budget_min": None, "init_from": None, "qat_percentile": None,
            "intensity_gain": None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the train options."""
    parser.add_argument("--data", nargs="+", required=True, metavar="DIR",
                        help="dataset directories (bag/ + labels.jsonl, e.g. from `sim`)")
    parser.add_argument("--out", required=True, metavar="RUN_DIR",
                        help="run directory for checkpoints and train_log.jsonl")
    parser.add_argument("--epochs", type=int, help=f"default {DEFAULTS['epochs']}")
    parser.add_argument("--batch-size", type=int, help=f"default {DEFAULTS['batch_size']}")
    parser.add_argument("--lr", type=float, help=f"max one-cycle LR, default {DEFAULTS['lr']}")
    parser.add_argument("--seed", type=int, help=f"default {DEFAULTS['seed']}")
    parser.add_argument("--max-frames", type=int, help="use at most N frames in all")
    parser.add_argument("--init-from", metavar="CKPT|ONNX",
                        help="start from this checkpoint's weights, or from a model written by "
                        "`export` such as models/pointpillars_zvision.onnx (fine-tuning: new "
                        "optimizer and schedule, the model's geometry)")
    parser.add_argument("--qat-percentile", type=float, metavar="P",
                        help="quantization-aware fine-tuning (with --init-from): simulate int8 "
                             "at every convolution input, ranges at the P-th percentile of |x| "
                             "as `calibrate --percentile P` sets them")
    parser.add_argument("--intensity-gain", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        help="intensity gain augmentation, log-uniform in [LOW, HIGH] "
                             "(default 1/3 3; 1 1 turns it off)")
    parser.add_argument("--time-budget-min", type=float, metavar="MIN",
                        help="fit the whole LR schedule into MIN minutes of training time "
                        "(stops there even if --epochs are not done)")
    parser.add_argument("--resume", action="store_true",
                        help="continue exactly from RUN_DIR/last.ckpt")
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True,
                        help="bfloat16 autocast for the conv backbone and head (default on)")
    parser.add_argument("--workers", type=int, default=1, help="data loading workers")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the trainer")
    parser.add_argument("--time-steps", type=int, metavar="N",
                        help="run N steps, print the mean seconds per step and exit")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run(args: argparse.Namespace) -> int:
    """Train (or time ``--time-steps`` steps) and write RUN_DIR checkpoints."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ConfigError("training needs PyTorch: pip install 'tao_pointpillars_py[train]'"
                          ) from exc
    from ..training.train import TrainOptions, Trainer, train

    given = [k for k in DEFAULTS if getattr(args, k) is not None]
    values: dict[str, Any] = {k: (getattr(args, k) if getattr(args, k) is not None else v)
                              for k, v in DEFAULTS.items()}
    values["intensity_gain"] = tuple(values["intensity_gain"] or INTENSITY_GAIN_RANGE)
    if args.time_steps is not None and values["max_frames"] is None:
        values["max_frames"] = max(args.time_steps, 1) * values["batch_size"]
    opts = TrainOptions(data=tuple(args.data), out=args.out, bf16=args.bf16,
                        num_workers=args.workers, threads=args.threads,
                        progress=not args.no_progress, **values)
    if args.time_steps is not None:
        seconds, median = Trainer(opts).time_steps(args.time_steps)
        print(f"mean seconds per step: {seconds:.4f} (median {median:.4f}; batch "
              f"{opts.batch_size}, {opts.batch_size / seconds:.2f} samples/s, bf16={opts.bf16})")
        return 0
    state = train(opts, resume=args.resume, given=given + ["data"])
    print(f"trained {state.epoch} epochs, {state.global_step} steps -> {args.out}",
          file=sys.stderr)
    return 0
