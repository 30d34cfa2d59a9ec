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
Inference: model files, backends (ONNX Runtime, TensorRT), runtime choice and the Detector.

:mod:`.runtime` chooses backend and precision from a plain request and builds the detector
(``build_detector``); :func:`.detector.answer_cloud` answers one cloud (decode, thin, detect).

May import: core and the base modules; heavy libraries (onnx, onnxruntime, tensorrt, pycuda,
torch) only inside the functions that need them.
"""

__all__: list[str] = []
