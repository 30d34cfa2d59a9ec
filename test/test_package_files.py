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

"""Tests of tao_pointpillars_py.package_files: shipped files found installed or in the repo."""

import pytest

from tao_pointpillars_py.errors import ConfigError
from tao_pointpillars_py.package_files import package_file, SOURCE_ROOT


def test_shipped_files_are_found_in_the_source_tree():
    assert package_file("params/pointpillars.yaml") == SOURCE_ROOT / "params" / "pointpillars.yaml"
    assert package_file("interfaces/vision_msgs/msg/LabelInfo.msg",
                        "ros/vision_msgs/msg/LabelInfo.msg").is_file()


def test_missing_file_names_the_places_looked_at():
    with pytest.raises(ConfigError, match=r"params/nothing\.yaml is not installed .*looked at"):
        package_file("params/nothing.yaml")
