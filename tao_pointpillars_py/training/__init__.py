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
Training layer: the PyTorch network, targets, losses, augmentation, checkpoints and ONNX export.

Needs the ``train`` extra (``torch==2.13.0``). May import: core, inference, data, sim and the
base modules; torch at the top of its modules, so other layers import these lazily.
"""

__all__: list[str] = []
