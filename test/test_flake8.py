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
ament_flake8 on the package, as ``ros2 pkg create --build-type ament_python`` generates it.

Without ROS 2 (CI, dev machines) the same check runs with flake8 from PyPI and the settings of
``ament_flake8/configuration/ament_flake8.ini``, copied into setup.cfg's ``[flake8]`` section.
"""

from importlib import metadata
from pathlib import Path
import subprocess

from lint_tools import PACKAGE_ROOT, run_module
import pytest

try:
    from ament_flake8.main import main_with_errors
except ImportError:  # no ROS 2 sourced: fall back to flake8 from PyPI
    main_with_errors = None

#: flake8 plugins whose codes ament_flake8's configuration names or that a ROS 2 development
#: install brings (the [test] extra installs them); without them the check silently weakens.
REQUIRED_PLUGINS = ("flake8-blind-except", "flake8-builtins", "flake8-class-newline",
                    "flake8-comprehensions", "flake8-deprecated", "flake8-docstrings",
                    "flake8-import-order")


def run_flake8(*args: str, cwd: Path = PACKAGE_ROOT) -> "subprocess.CompletedProcess[str]":
    """Run flake8 from PyPI in ``cwd`` with the package's setup.cfg configuration."""
    return run_module("flake8", "--config", str(PACKAGE_ROOT / "setup.cfg"), *args, cwd=cwd)


def missing_plugins() -> list[str]:
    """Names of the required flake8 distributions that are not installed."""
    missing = []
    for name in ("flake8",) + REQUIRED_PLUGINS:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(monkeypatch):
    monkeypatch.chdir(PACKAGE_ROOT)
    if main_with_errors is not None:
        rc, errors = main_with_errors(argv=[])
        assert rc == 0, \
            "Found %d code style errors / warnings:\n" % len(errors) + \
            "\n".join(errors)
        return
    missing = missing_plugins()
    assert not missing, f'install the [test] extra (pip install -e ".[test]"): missing {missing}'
    result = run_flake8(".")
    assert result.returncode == 0, \
        "Found code style errors / warnings:\n" + result.stdout + result.stderr


@pytest.mark.flake8
@pytest.mark.linter
@pytest.mark.parametrize("source, code", [
    ("x = " + "1 + " * 30 + "1\n", "E501"),
    ("import sys\nimport os\n\nprint(sys, os)\n", "I100"),
    ("def f(list):\n    return list\n", "A002"),
    ("x = dict()\n", "C408"),
    ('def f():\n    """returns one"""\n    return 1\n', "D403"),
])
def test_flake8_configuration_reports_violations(tmp_path, source, code):
    """The PyPI configuration really fails on long lines, import order, builtins, docstrings."""
    if missing_plugins():
        pytest.skip("flake8 and its plugins are not installed (test_flake8 fails instead)")
    (tmp_path / "bad.py").write_text(source)
    result = run_flake8("bad.py", cwd=tmp_path)
    assert result.returncode == 1
    assert code in result.stdout
