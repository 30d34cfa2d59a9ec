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
mypy on the ROS-free core, with setup.cfg's ``[mypy]`` section (strict; training/ not yet).

Not an ament linter (ROS 2 has ament_mypy, but a generated package does not enable it), so it
runs the same way everywhere: mypy from PyPI, installed by the [test] extra.
"""

from pathlib import Path
import subprocess

from lint_tools import module_installed, PACKAGE_ROOT, run_module
import pytest


def run_mypy(*args: str, cwd: Path = PACKAGE_ROOT) -> "subprocess.CompletedProcess[str]":
    """Run mypy with the package's setup.cfg configuration."""
    return run_module("mypy", "--config-file", str(PACKAGE_ROOT / "setup.cfg"), "--no-pretty",
                      "--no-error-summary", "--hide-error-context", *args, cwd=cwd)


@pytest.mark.linter
@pytest.mark.mypy
def test_mypy():
    assert module_installed("mypy"), 'install the [test] extra (pip install -e ".[test]")'
    result = run_mypy()
    assert result.returncode == 0, "mypy found type errors:\n" + result.stdout + result.stderr


@pytest.mark.linter
@pytest.mark.mypy
@pytest.mark.parametrize("source, code", [
    ("def f(x):\n    return x\n", "no-untyped-def"),
    ("def f(x: int) -> str:\n    return x\n", "return-value"),
    ("def f(x: list) -> None:\n    pass\n", "type-arg"),
])
def test_mypy_configuration_reports_violations(tmp_path, source, code):
    """The configuration is strict: untyped defs and bare generics fail, not only bugs."""
    if not module_installed("mypy"):
        pytest.skip("mypy is not installed (test_mypy fails instead)")
    (tmp_path / "bad.py").write_text(source)
    result = run_mypy("--cache-dir", str(tmp_path / "cache"), "bad.py", cwd=tmp_path)
    assert result.returncode == 1
    assert f"[{code}]" in result.stdout
