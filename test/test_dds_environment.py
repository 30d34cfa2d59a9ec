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

"""Tests of tao_pointpillars_py.dds_environment: Fast DDS profile variables, loopback setup."""

from pathlib import Path

import pytest

from tao_pointpillars_py.dds_environment import (fastdds_profile_environment,
                                                 loopback_environment)

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("distro,variable", [("humble", "FASTRTPS_DEFAULT_PROFILES_FILE"),
                                             ("jazzy", "FASTDDS_DEFAULT_PROFILES_FILE"),
                                             ("", "FASTDDS_DEFAULT_PROFILES_FILE")])
def test_fastdds_profile_variable_follows_the_fast_dds_generation(distro, variable):
    assert fastdds_profile_environment("/p.xml", distro) == {variable: "/p.xml"}


def test_large_cloud_profile_is_valid_xml_with_a_large_shared_memory_segment():
    import xml.etree.ElementTree as ElementTree
    root = ElementTree.parse(REPO / "params" / "fastdds_large_clouds.xml").getroot()
    namespace = {"dds": "http://www.eprosima.com"}
    sizes = [int(e.text) for e in root.iterfind(".//dds:segment_size", namespace)]
    assert sizes and min(sizes) >= 4 * 51_200 * 32  # several 51,200-point clouds


def test_loopback_environment_replaces_or_keeps_existing_settings():
    base = {"ROS_DOMAIN_ID": "7", "ROS_DISTRO": "jazzy", "PATH": "/bin"}
    forced = loopback_environment(base, 42, "/p.xml", keep_existing=False)
    assert forced == {"ROS_DOMAIN_ID": "42", "ROS_DISTRO": "jazzy", "PATH": "/bin",
                      "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
                      "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
                      "FASTDDS_DEFAULT_PROFILES_FILE": "/p.xml"}
    kept = loopback_environment({**base, "FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"}, 42,
                                "/p.xml", keep_existing=True)
    assert kept["ROS_DOMAIN_ID"] == "7" and "FASTDDS_DEFAULT_PROFILES_FILE" not in kept
    assert kept["FASTRTPS_DEFAULT_PROFILES_FILE"] == "/mine.xml"
    assert base == {"ROS_DOMAIN_ID": "7", "ROS_DISTRO": "jazzy", "PATH": "/bin"}
