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

"""Tests of tao_pointpillars_py.ros.topics: where the answers to a cloud topic go."""

import pytest

from tao_pointpillars_py.ros.topics import fused_topics, output_topics, OutputTopics


@pytest.mark.parametrize("cloud, expected", [
    ("/ns1/zvision_lidar_points", ("/ns1/bbox", "/ns1/bbox_markers", "/ns1/bbox/label_info")),
    ("/a/b/points", ("/a/b/bbox", "/a/b/bbox_markers", "/a/b/bbox/label_info")),
    ("point_cloud", ("bbox", "bbox_markers", "bbox/label_info")),
    ("/point_cloud", ("/bbox", "/bbox_markers", "/bbox/label_info")),
    ("front/points", ("front/bbox", "front/bbox_markers", "front/bbox/label_info")),
])
def test_answers_live_in_the_cloud_topics_namespace(cloud, expected):
    assert output_topics(cloud) == OutputTopics(*expected)


def test_fused_answers_have_their_own_namespace():
    assert fused_topics() == OutputTopics("fused/bbox", "fused/bbox_markers",
                                          "fused/bbox/label_info")
