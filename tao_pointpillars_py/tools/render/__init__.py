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
Bird's-eye-view rendering of a bag with its detections (``tao-pointpillars render``).

:mod:`.drawing` draws pictures with matplotlib (imported only where a picture is drawn, so the
rest imports without it); :mod:`.bag_detections` finds each cloud's detections (the bag's own,
else a model's); :mod:`.frames` picks the clouds, renders them one at a time and words the
titles and the summary line.

May import: core, inference, data, ros (topic names) and the base modules.
"""

__all__ = ["bag_detections", "drawing", "frames"]
