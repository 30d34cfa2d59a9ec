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
Fixtures of every test directory; test/ on sys.path for its helper modules (onnx_fixtures ...).

TensorRT paths run on the fake TensorRT / pycuda of tensorrt_fake.py: ``install_fake_tensorrt``
installs it (again, e.g. as another version), ``fake_tensorrt`` is it installed as an Orin's,
and ``tiny_model`` is a tiny ONNX model with a dynamic pillar axis to build engines from.
"""

from pathlib import Path
import sys
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from onnx_fixtures import fired_anchor_model  # noqa: E402
import pytest  # noqa: E402
from tensorrt_fake import Fakes  # noqa: E402


@pytest.fixture
def install_fake_tensorrt(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Fakes]:
    """Give a function that installs (or replaces) the fake tensorrt and pycuda modules."""
    return lambda **kwargs: Fakes(**kwargs).install(monkeypatch)


@pytest.fixture
def fake_tensorrt(install_fake_tensorrt: Callable[..., Fakes]) -> Fakes:
    """Install the fake TensorRT of its defaults (TensorRT 8.6.1 on an Orin); give it."""
    return install_fake_tensorrt()


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    """Write the tiny fired-anchor model with a dynamic pillar axis (max_pillars 64)."""
    path = tmp_path / "tiny.onnx"
    fired_anchor_model(path, pillar_axis="pillars")
    return path
