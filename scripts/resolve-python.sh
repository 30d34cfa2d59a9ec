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

# Sourced by scripts/setup-env.sh and scripts/test-oldest-numpy.sh.
# resolve_python NAME: print NAME if it runs; for a missing pythonX.Y, the newest pyenv
# X.Y.Z interpreter when pyenv has one; else NAME unchanged (the caller reports it).
resolve_python() {
  local python="$1" version
  if ! "$python" --version >/dev/null 2>&1 && [[ "$python" =~ ^python([0-9]+\.[0-9]+)$ ]] \
      && command -v pyenv >/dev/null; then
    version="$(pyenv versions --bare | grep -E "^${BASH_REMATCH[1]//./\\.}\.[0-9]+$" \
               | sort -V | tail -n1 || true)"
    [ -n "$version" ] && python="$(pyenv root)/versions/$version/bin/$python"
  fi
  echo "$python"
}
