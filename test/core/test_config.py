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

"""Tests of tao_pointpillars_py.core.config: ModelConfig.with_class_names."""

import dataclasses

import pytest

from tao_pointpillars_py.core.config import ModelConfig
from tao_pointpillars_py.errors import ConfigError


def test_with_class_names_renames_classes_and_anchors_and_keeps_the_geometry():
    config = ModelConfig()
    named = config.with_class_names(["Car", "Walker", "Bike"])
    assert named.class_names == ("Car", "Walker", "Bike")
    assert [a.class_name for a in named.anchors] == ["Car", "Walker", "Bike"]
    assert [dataclasses.replace(a, class_name="") for a in named.anchors] == [
        dataclasses.replace(a, class_name="") for a in config.anchors]
    assert dataclasses.replace(named, class_names=config.class_names,
                               anchors=config.anchors) == config
    assert config.class_names == ("Vehicle", "Pedestrian", "Cyclist")  # the original stays


def test_with_class_names_refuses_another_count_naming_both_lists():
    with pytest.raises(ConfigError) as refused:
        ModelConfig().with_class_names(["Car", "Walker"])
    message = str(refused.value)
    assert "['Car', 'Walker']" in message
    assert "['Vehicle', 'Pedestrian', 'Cyclist']" in message
    assert "give 3 names" in message
