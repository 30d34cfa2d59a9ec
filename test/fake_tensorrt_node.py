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
Run the node process on test/tensorrt_fake.py's TensorRT and pycuda (one fake Orin, 8.6.1).

``python test/fake_tensorrt_node.py --ros-args ...``: the node's TensorRT paths (engine cache,
engine_path, build from the ONNX) run in a real node process on a machine without a GPU.
"""

import sys

from tensorrt_fake import Fakes

if __name__ == "__main__":
    sys.modules.update(Fakes().modules)
    from tao_pointpillars_py.ros.node import main
    sys.exit(main())
