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
Process environment for ROS 2 over Fast DDS on one machine: loopback only, large clouds intact.

Used by the demo, the tests and the benchmarks for the processes they start (the tests and
benchmarks in a ROS domain of their own: :func:`isolated_environment`), and by the launch file
for the Fast DDS profile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from ..package_files import package_file

PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")
#: Distros whose rcl predates ROS_AUTOMATIC_DISCOVERY_RANGE (added in Iron)
LOCALHOST_ONLY_DISTROS = ("humble",)


def fastdds_profile_environment(profile: Path | str) -> dict[str, str]:
    """
    Environment variables that make Fast DDS load ``profile`` (params/fastdds_large_clouds.xml).

    Both names, same file: Fast DDS 2.6 (Humble) and 2.14 (Jazzy) read only
    FASTRTPS_DEFAULT_PROFILES_FILE; Fast DDS 3 (Kilted and later) reads FASTDDS_, and the
    deprecated FASTRTPS_ as well. The distro cannot be told reliably from the environment
    (PyPI wheels set no ROS_DISTRO), so both are always set.
    """
    return {name: str(profile) for name in PROFILE_VARIABLES}


def localhost_discovery_environment(ros_distro: str) -> dict[str, str]:
    """Variables that keep ROS 2 discovery on this host, for ``ros_distro`` ('' if unknown)."""
    wanted = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    if ros_distro in LOCALHOST_ONLY_DISTROS:
        # Humble ignores ROS_AUTOMATIC_DISCOVERY_RANGE; newer distros warn that
        # ROS_LOCALHOST_ONLY is deprecated, so it is set only where it is the only way
        wanted["ROS_LOCALHOST_ONLY"] = "1"
    return wanted


def loopback_environment(base: Mapping[str, str], domain_id: int, profile: Path | str,
                         keep_existing: bool) -> dict[str, str]:
    """
    Extend ``base`` with loopback-only discovery, a ROS domain, Fast DDS and its profile.

    With ``keep_existing`` the settings already in ``base`` win (a user's choice); otherwise
    they are replaced (tests that must not meet other ROS 2 graphs).
    """
    env = dict(base)
    wanted = {**localhost_discovery_environment(env.get("ROS_DISTRO", "")),
              "ROS_DOMAIN_ID": str(domain_id), "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}
    # 1.6 MB clouds, best effort: whole through shared memory, not lost as UDP fragments
    if not (keep_existing and any(name in env for name in PROFILE_VARIABLES)):
        wanted.update(fastdds_profile_environment(profile))
    for name, value in wanted.items():
        if not keep_existing or name not in env:
            env[name] = value
    return env


def isolated_environment() -> dict[str, str]:
    """
    Give this process's environment for ROS processes that must meet no other ROS 2 graph.

    Loopback only, a ROS domain of this process (100-199, from its pid), Fast DDS with the
    large-cloud profile, whatever was set before; unbuffered Python output for the logs.
    """
    env = loopback_environment(os.environ, 100 + os.getpid() % 100,
                               package_file("params/fastdds_large_clouds.xml"),
                               keep_existing=False)
    env["PYTHONUNBUFFERED"] = "1"
    return env
