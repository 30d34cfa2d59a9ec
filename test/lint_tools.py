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

"""Run the PyPI linters the ament-style tests fall back to when ROS 2 is not sourced."""

import importlib.util
from pathlib import Path
import subprocess
import sys

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def module_installed(name: str) -> bool:
    """Whether ``name`` can be imported by this interpreter."""
    return importlib.util.find_spec(name) is not None


def run_module(module: str, *args: str,
               cwd: Path = PACKAGE_ROOT) -> "subprocess.CompletedProcess[str]":
    """Run ``python -m module args`` in ``cwd`` with this interpreter, capturing text output."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd,
                          capture_output=True, text=True, check=False)
