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

"""Small models and inputs of the TensorRT tests: a Q/DQ tiny model, clouds, model inputs."""

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx_fixtures import fired_anchor_model

from tao_pointpillars_py.inference.detector import Detector


def qdq_model(path):
    """Write the tiny model with cls_preds through a symmetric int8 Q/DQ pair."""
    fired_anchor_model(path, pillar_axis="pillars")
    model = onnx.load(str(path))
    for node in model.graph.node:
        if node.output[0] == "cls_preds":
            node.output[0] = "cls_float"
    model.graph.initializer.extend([numpy_helper.from_array(np.array(0.05, np.float32), "s"),
                                    numpy_helper.from_array(np.array(0, np.int8), "z")])
    model.graph.node.extend([
        helper.make_node("QuantizeLinear", ["cls_float", "s", "z"], ["cls_q"]),
        helper.make_node("DequantizeLinear", ["cls_q", "s", "z"], ["cls_preds"])])
    onnx.save(model, str(path))
    return path


def clouds(count, seed=0, n=60, x=(1, 7), y=(-3, 3)):
    """Return ``count`` random (n, 4) clouds inside the tiny model's grid, driver intensity."""
    rng = np.random.default_rng(seed)
    return [np.c_[rng.uniform(*x, n), rng.uniform(*y, n), rng.uniform(-1, 1, n),
                  rng.uniform(0, 255, n)].astype(np.float32) for _ in range(count)]


def model_inputs(model, count, seed=0, **cloud_options):
    """Return the model inputs of ``count`` random clouds (copies), as calibration takes them."""
    detector = Detector.from_model(str(model))
    return [{k: v.copy() for k, v in detector.model_inputs(c).items()}
            for c in clouds(count, seed, **cloud_options)]
