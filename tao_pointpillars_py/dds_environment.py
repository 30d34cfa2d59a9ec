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

Used by the demo, the tests and the benchmarks for the processes they start, and by the launch
file for the Fast DDS profile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")


def fastdds_profile_environment(profile: Path | str, ros_distro: str | None = None
                                ) -> dict[str, str]:
    """
    Environment variables that make Fast DDS load ``profile`` (params/fastdds_large_clouds.xml).

    Fast DDS 3 (ROS 2 Jazzy and later) reads FASTDDS_DEFAULT_PROFILES_FILE and prefers the
    deprecated FASTRTPS_ name when both are set; Fast DDS 2 (Humble) reads only FASTRTPS_.
    """
    distro = os.environ.get("ROS_DISTRO", "") if ros_distro is None else ros_distro
    name = ("FASTRTPS_DEFAULT_PROFILES_FILE" if distro in ("humble", "iron")
            else "FASTDDS_DEFAULT_PROFILES_FILE")
    return {name: str(profile)}


def loopback_environment(base: Mapping[str, str], domain_id: int, profile: Path | str,
                         keep_existing: bool) -> dict[str, str]:
    """
    Extend ``base`` with loopback-only discovery, a ROS domain, Fast DDS and its profile.

    With ``keep_existing`` the settings already in ``base`` win (a user's choice); otherwise
    they are replaced (tests that must not meet other ROS 2 graphs).
    """
    env = dict(base)
    wanted = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_DOMAIN_ID": str(domain_id),
              "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}
    # 1.6 MB clouds, best effort: whole through shared memory, not lost as UDP fragments
    if not (keep_existing and any(name in env for name in PROFILE_VARIABLES)):
        wanted.update(fastdds_profile_environment(profile, env.get("ROS_DISTRO", "")))
    for name, value in wanted.items():
        if not keep_existing or name not in env:
            env[name] = value
    return env
