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
ament_copyright on the package, as ``ros2 pkg create --build-type ament_python`` generates it.

Without ROS 2 the fallback checks what ament_copyright checks for this repository: every
non-empty ``.py`` file (directories starting with ``.`` or ``_`` skipped, like ament's crawler)
opens, after an optional shebang / coding line, with a ``# Copyright YEAR HOLDER`` line and the
Apache-2.0 header; the repository root has the Apache-2.0 ``LICENSE`` and ``CONTRIBUTING.md``.
"""

import os
from pathlib import Path
import re

import pytest

try:
    from ament_copyright.main import main
except ImportError:  # no ROS 2 sourced: fall back to the check below
    main = None

PACKAGE_ROOT = Path(__file__).resolve().parents[1]

#: top-level folders with generated or downloaded content, never sources
SKIPPED_TOP_DIRS = {"build", "install", "log", "data", "runs", "out", "venv"}

COPYRIGHT_LINE = re.compile(r"# Copyright (\(c\) )?\d{4}(-\d{4})?(, ?\d{4}(-\d{4})?)* \S.*")

APACHE2_HEADER = """\
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

#: phrases of ament_copyright's apache2 license and contributing templates
LICENSE_PHRASES = ("Apache License", "Version 2.0, January 2004",
                   "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
                   "END OF TERMS AND CONDITIONS")
CONTRIBUTING_PHRASES = ("be under the Apache 2 License",
                        "5. Submission of Contributions. Unless You explicitly state otherwise,")


def python_files(root: Path) -> list[Path]:
    """Every ``.py`` file under ``root`` the way ament_copyright's crawler walks it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d[0] not in "._"
                             and not (Path(dirpath) == root and d in SKIPPED_TOP_DIRS))
        found += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py")]
    return found


def header_problem(text: str) -> str:
    """Why ``text`` (a Python source) lacks the copyright header, or '' when it has it."""
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("#") and (
            lines[0].startswith("#!") or "coding" in lines[0]):
        lines.pop(0)
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or not COPYRIGHT_LINE.fullmatch(lines[0].rstrip("\n")):
        return 'could not find copyright notice ("# Copyright YEAR HOLDER" as first comment)'
    if "".join(lines[1:13]) != APACHE2_HEADER:
        return "copyright notice not followed by the Apache-2.0 header text"
    return ""


def normalised(path: Path) -> str:
    """File content with whitespace runs collapsed, as ament_copyright compares licenses."""
    return " ".join(path.read_text(encoding="utf-8").split()) if path.is_file() else ""


def copyright_errors(root: Path) -> list[str]:
    """One 'path: problem' line per source or repository file that fails the check."""
    errors = []
    for path in python_files(root):
        text = path.read_text(encoding="utf-8")
        problem = header_problem(text) if text.strip() else ""
        if problem:
            errors.append(f"{path.relative_to(root)}: {problem}")
    if (root / ".git").exists():
        for name, phrases in (("LICENSE", LICENSE_PHRASES),
                              ("CONTRIBUTING.md", CONTRIBUTING_PHRASES)):
            content = normalised(root / name)
            if not all(" ".join(p.split()) in content for p in phrases):
                errors.append(f"{name}: missing, or not the Apache-2.0 text")
    return errors


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright(monkeypatch):
    monkeypatch.chdir(PACKAGE_ROOT)
    if main is not None:
        rc = main(argv=[".", "test"])
        assert rc == 0, "Found errors"
        return
    errors = copyright_errors(PACKAGE_ROOT)
    assert not errors, "Found errors:\n" + "\n".join(errors)


HEADER = "# Copyright 2026 tao_pointpillars_py developers\n" + APACHE2_HEADER


@pytest.mark.copyright
@pytest.mark.linter
@pytest.mark.parametrize("text, ok", [
    (HEADER + '\n"""Doc."""\n', True),
    ("#!/usr/bin/env python3\n\n" + HEADER + "\nimport os\n", True),
    ('"""Doc."""\n', False),
    ("# Copyright tao_pointpillars_py developers\n" + APACHE2_HEADER, False),
    (HEADER.replace("Version 2.0", "Version 3.0"), False),
    (HEADER.replace("#\n", "", 1), False),
])
def test_header_check_accepts_only_the_apache2_header(text, ok):
    assert (header_problem(text) == "") is ok


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright_check_reports_file_without_header(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "good.py").write_text(HEADER)
    (tmp_path / "pkg" / "bad.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "empty.py").write_text("")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "skipped.py").write_text("x = 1\n")
    errors = copyright_errors(tmp_path)
    assert [e.split(":")[0] for e in errors] == [str(Path("pkg") / "bad.py")]


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright_check_wants_license_files_at_repository_root(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "CONTRIBUTING.md").write_text("MIT\n")
    errors = copyright_errors(tmp_path)
    assert errors == ["LICENSE: missing, or not the Apache-2.0 text",
                      "CONTRIBUTING.md: missing, or not the Apache-2.0 text"]
    (tmp_path / "LICENSE").write_bytes((PACKAGE_ROOT / "LICENSE").read_bytes())
    (tmp_path / "CONTRIBUTING.md").write_bytes((PACKAGE_ROOT / "CONTRIBUTING.md").read_bytes())
    assert copyright_errors(tmp_path) == []
