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

"""Training checkpoints: one ``torch.save`` dict of tensors and plain Python values."""

from __future__ import annotations

import ast
import os
from pathlib import Path
import random
from typing import Any

import numpy as np
import torch

from .network import PointPillarsNet
from ..core.config import ModelConfig
from ..errors import ModelLoadError

CHECKPOINT_FORMAT = "tao_pointpillars.checkpoint.v1"
REQUIRED_KEYS = ("format", "model", "model_config", "epoch", "global_step", "args")


def rng_states() -> dict[str, Any]:
    """Global RNG states (torch, numpy, python) as plain values."""
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                      int(np_state[2]), int(np_state[3]), float(np_state[4])],
            "python": repr(random.getstate())}


def restore_rng_states(states: dict[str, Any]) -> None:
    """Inverse of :func:`rng_states`."""
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(ast.literal_eval(states["python"]))


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically (temporary file + rename) so a kill never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; ModelLoadError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"checkpoint {path} does not exist; pass a .ckpt written by "
                             "`tao-pointpillars train` (RUN_DIR/last.ckpt)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise ModelLoadError(f"cannot read checkpoint {path}: {exc}") from exc
    missing = [k for k in REQUIRED_KEYS if k not in state] if isinstance(state, dict) else ["*"]
    if missing or state.get("format") != CHECKPOINT_FORMAT:
        raise ModelLoadError(f"{path} is not a tao-pointpillars training checkpoint "
                             f"(missing {missing or ['format']}); use RUN_DIR/last.ckpt")
    return state


def model_from_checkpoint(state: dict[str, Any]) -> tuple[PointPillarsNet, ModelConfig]:
    """Rebuild the fp32 network (eval mode) and its config from a loaded checkpoint."""
    cfg = ModelConfig.from_metadata(state["model_config"], source="checkpoint")
    model = PointPillarsNet(cfg)
    model.load_state_dict(state["model"])
    model.eval()
    return model, cfg
