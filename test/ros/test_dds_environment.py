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

"""Tests of tao_pointpillars_py.ros.dds_environment: Fast DDS profile variables, loopback setup."""

from pathlib import Path

import pytest

from tao_pointpillars_py.ros.dds_environment import (fastdds_profile_environment,
                                                     localhost_discovery_environment,
                                                     loopback_environment)

REPO = Path(__file__).resolve().parents[2]


def test_fastdds_profile_sets_both_variables_to_the_same_file():
    # Fast DDS 2.6 (Humble) and 2.14 (Jazzy) read only FASTRTPS_, Fast DDS 3 (Kilted) FASTDDS_
    assert fastdds_profile_environment("/p.xml") == {
        "FASTDDS_DEFAULT_PROFILES_FILE": "/p.xml", "FASTRTPS_DEFAULT_PROFILES_FILE": "/p.xml"}


@pytest.mark.parametrize("distro,localhost_only", [("humble", "1"), ("jazzy", None),
                                                   ("kilted", None), ("", None)])
def test_localhost_discovery_sets_localhost_only_where_the_range_is_unknown(
        distro, localhost_only):
    env = localhost_discovery_environment(distro)
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert env.get("ROS_LOCALHOST_ONLY") == localhost_only


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
                      "FASTDDS_DEFAULT_PROFILES_FILE": "/p.xml",
                      "FASTRTPS_DEFAULT_PROFILES_FILE": "/p.xml"}
    on_humble = loopback_environment({**base, "ROS_DISTRO": "humble"}, 42, "/p.xml",
                                     keep_existing=False)
    assert on_humble["ROS_LOCALHOST_ONLY"] == "1"
    kept = loopback_environment({**base, "FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"}, 42,
                                "/p.xml", keep_existing=True)
    assert kept["ROS_DOMAIN_ID"] == "7" and "FASTDDS_DEFAULT_PROFILES_FILE" not in kept
    assert kept["FASTRTPS_DEFAULT_PROFILES_FILE"] == "/mine.xml"
    assert base == {"ROS_DOMAIN_ID": "7", "ROS_DISTRO": "jazzy", "PATH": "/bin"}
