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
ament_pep257 on the package, as ``ros2 pkg create --build-type ament_python`` generates it.

Without ROS 2 the same check runs with pydocstyle from PyPI and ament_pep257's default
("ament" convention): every pydocstyle check except D100-D107, D203, D212 and D404. So D213 is
on (a multi-line docstring starts its summary on the line after the opening quotes) and
docstring sections must be numpy-style (``Returns`` over a dashed underline).
"""

from pathlib import Path
import subprocess

from lint_tools import module_installed, PACKAGE_ROOT, run_module
import pytest

try:
    from ament_pep257.main import main
except ImportError:  # no ROS 2 sourced: fall back to pydocstyle from PyPI
    main = None

#: ament_pep257.main._ament_ignore
AMENT_IGNORE = ("D100", "D101", "D102", "D103", "D104", "D105", "D106", "D107", "D203", "D212",
                "D404")


def run_pydocstyle(*paths: str, cwd: Path = PACKAGE_ROOT) -> "subprocess.CompletedProcess[str]":
    """Run pydocstyle with the arguments ament_pep257 passes it by default."""
    args = ["--ignore=" + ",".join(AMENT_IGNORE), "--match", r".*\.py", "--match-dir",
            r"[^\._].*", *paths]
    return run_module("pydocstyle", *args, cwd=cwd)


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257(monkeypatch):
    monkeypatch.chdir(PACKAGE_ROOT)
    if main is not None:
        rc = main(argv=[".", "test"])
        assert rc == 0, "Found code style errors / warnings"
        return
    assert module_installed("pydocstyle"), 'install the [test] extra (pip install -e ".[test]")'
    result = run_pydocstyle(".")
    assert result.returncode == 0, \
        "Found code style errors / warnings:\n" + result.stdout + result.stderr


@pytest.mark.linter
@pytest.mark.pep257
@pytest.mark.parametrize("docstring, code", [
    ('"""Summary on the first line.\n\n    More text.\n    """', "D213"),
    ('"""\n    Returns one.\n    """', "D401"),
    ('"""\n    Add.\n\n    Returns:\n        one\n    """', "D407"),
    ('"""no capital, no period"""', "D400"),
])
def test_pep257_configuration_reports_violations(tmp_path, docstring, code):
    """The PyPI configuration really fails on the docstrings ament_pep257 rejects."""
    if not module_installed("pydocstyle"):
        pytest.skip("pydocstyle is not installed (test_pep257 fails instead)")
    (tmp_path / "bad.py").write_text(f"def f():\n    {docstring}\n    return 1\n")
    result = run_pydocstyle("bad.py", cwd=tmp_path)
    assert result.returncode == 1
    assert code in result.stdout


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257_configuration_accepts_ament_style(tmp_path):
    """A docstring in the style ament_pep257 wants passes the PyPI configuration."""
    if not module_installed("pydocstyle"):
        pytest.skip("pydocstyle is not installed (test_pep257 fails instead)")
    source = ("def f(x):\n"
              '    """\n'
              "    Return one.\n"
              "\n"
              "    Parameters\n"
              "    ----------\n"
              "    x : int\n"
              "        Ignored.\n"
              "\n"
              '    """\n'
              "    return 1\n")
    (tmp_path / "good.py").write_text(source)
    result = run_pydocstyle("good.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
