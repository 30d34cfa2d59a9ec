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
Commands layer: the ``tao-pointpillars`` subcommands, one module each.

A command module has ``add_arguments(parser)`` and ``run(args)``: it checks its arguments, calls
the library and prints; the work itself lives in the layers below.

May import: every layer below (tools, sim, training, ros, data, quantization, inference, core
and the base modules); never another command.
"""

__all__: list[str] = []
