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

"""Files that ship with the package: in share/tao_pointpillars_py once installed, else the repo."""

from __future__ import annotations

from pathlib import Path
import sys

from .errors import ConfigError

PACKAGE = "tao_pointpillars_py"
#: the repository root when running from a source checkout (editable install, tests)
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def share_dirs() -> list[Path]:
    """Installed share folders of the package: the ament index's (ROS), then sys.prefix's."""
    folders = []
    try:
        from ament_index_python.packages import get_package_share_directory
        folders.append(Path(get_package_share_directory(PACKAGE)))
    except Exception:  # noqa: B902 - not a ROS install or package not in the ament index
        pass
    folders.append(Path(sys.prefix) / "share" / PACKAGE)
    return folders


def package_file(installed: str, source: str | None = None) -> Path:
    """
    Find a shipped file: ``<share>/<installed>``, else ``<repo>/<source or installed>``.

    Raises ConfigError naming every place looked at.
    """
    candidates = [folder / installed for folder in share_dirs()]
    candidates.append(SOURCE_ROOT / (source or installed))
    for path in candidates:
        if path.exists():
            return path
    raise ConfigError(f"{installed} is not installed with {PACKAGE} (looked at "
                      f"{[str(c) for c in candidates]}); reinstall the package")
