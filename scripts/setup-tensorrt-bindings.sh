#!/usr/bin/env bash
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

# The real TensorRT Python bindings of several versions, importable without a GPU, for
# test/inference/test_tensorrt_bindings.py: downloads the small `-bindings` wheels from PyPI (no native
# TensorRT libraries: those are not on PyPI), unpacks each as a `tensorrt` package and builds
# stub libnvinfer / libnvonnxparser / libnvinfer_plugin (/ libnvparsers on 8.6) that define
# the C factory functions the bindings import (`nm -D --undefined-only tensorrt.so`): each
# stub prints "STUB CALLED: <name>" and returns NULL. Enough to read the API (classes,
# properties, enums, signatures) and to probe argument conversion; nothing runs.
#
# Layout: $VENV/tensorrt-bindings/cpXY/<version>/{tensorrt/,stubs/} (wheels cached in
# $VENV/tensorrt-bindings/wheels/). Use: LD_LIBRARY_PATH=.../stubs PYTHONPATH=.../<version>.
# Idempotent: a second run only checks a stamp and returns at once.
# Without network (or a C compiler) it says so in one line and exits 0, so those tests skip;
# under CI=true it fails instead.
# Usage: scripts/setup-tensorrt-bindings.sh [PYTHON]   (default: $VENV/bin/python, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep in step with VERSIONS in test/inference/test_tensorrt_bindings.py.
SPECS="tensorrt-bindings==8.6.1 tensorrt-cu12-bindings==10.3.0
tensorrt-cu12-bindings==10.13.0.35 tensorrt-cu12-bindings==11.4.0.106"

venv="${VENV:-.venv}"
python="${1:-$venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"
root="$venv/tensorrt-bindings"
tag="$("$python" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"
stamp="$root/.ready-$tag-$(sha256sum "$0" | cut -c1-16)"
[ -f "$stamp" ] && exit 0

say() { echo "setup-tensorrt-bindings: $*" >&2; }
give_up() {
  if [ "${CI:-}" = "true" ]; then
    say "error: $* (CI=true: the TensorRT bindings checks must run in CI)"
    exit 1
  fi
  say "$*; test/inference/test_tensorrt_bindings.py will skip (run scripts/setup-tensorrt-bindings.sh)"
  exit 0
}

for tool in gcc nm readelf; do
  command -v "$tool" >/dev/null || give_up "no '$tool' (apt-get install gcc binutils)"
done

mkdir -p "$root/wheels" "$root/$tag"
started=$SECONDS
work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT
for spec in $SPECS; do
  name="${spec%%==*}"
  version="${spec##*==}"
  target="$root/$tag/$version"
  wheel_glob="$root/wheels/${name//-/_}-$version-$tag-*.whl"
  # shellcheck disable=SC2086  # the glob is meant to expand
  if ! ls $wheel_glob >/dev/null 2>&1; then
    "$python" -m pip download --quiet --no-deps --only-binary=:all: -d "$root/wheels" "$spec" \
      > "$root/pip.log" 2>&1 \
      || give_up "could not download $spec for $tag ($(grep -m1 -i error "$root/pip.log" \
                   || echo "see $root/pip.log"))"
  fi
  # shellcheck disable=SC2086
  wheel="$(ls $wheel_glob | head -n1)"
  work="$target.partial.$$"
  rm -rf "$work"
  mkdir -p "$work/tensorrt" "$work/stubs"
  "$python" - "$wheel" "$work/tensorrt" <<'EOF'
import sys
import zipfile

wheel, out = sys.argv[1:]
prefix = "tensorrt_bindings/"
with zipfile.ZipFile(wheel) as archive:
    for member in archive.infolist():
        if member.filename.startswith(prefix) and not member.is_dir():
            member.filename = member.filename[len(prefix):]
            archive.extract(member, out)
EOF
  so="$work/tensorrt/tensorrt.so"
  # The libraries it needs (e.g. "nvinfer 8") and the symbols it takes from them: undefined,
  # unversioned (libc / libstdc++ symbols are versioned), not Python's C API.
  needed="$(readelf -d "$so" | sed -n 's/.*Shared library: \[lib\(nv[a-z_]*\)\.so\.\([0-9]*\)\].*/\1 \2/p')"
  symbols="$(nm -D --undefined-only "$so" | awk '$1 == "U" && $2 !~ /@/ && $2 !~ /^_?Py/ {print $2}')"
  for lib in $(echo "$needed" | awk '{print $1}'); do
    printf '#include <stdio.h>\n' > "$work/stubs/$lib.c"
  done
  i=0
  for symbol in $symbols; do
    case "$symbol" in
      *nvuffparser*|*nvcaffeparser*) lib=nvparsers ;;
      *OnnxParser*) lib=nvonnxparser ;;
      initLibNvInferPlugins) lib=nvinfer_plugin ;;
      *) lib=nvinfer ;;
    esac
    [ -f "$work/stubs/$lib.c" ] || give_up "$version: $symbol would go to lib$lib, not NEEDED"
    i=$((i + 1))
    # an asm label gives a C function any symbol name, C++-mangled ones included
    printf 'void *stub_%d(void) __asm__("%s");\nvoid *stub_%d(void) { fprintf(stderr, "STUB CALLED: %s\\n"); return 0; }\n' \
      "$i" "$symbol" "$i" "$symbol" >> "$work/stubs/$lib.c"
  done
  while read -r lib major; do
    gcc -shared -fPIC -o "$work/stubs/lib$lib.so.$major" -Wl,-soname,"lib$lib.so.$major" \
      "$work/stubs/$lib.c"
  done <<< "$needed"
  LD_LIBRARY_PATH="$work/stubs" PYTHONPATH="$work" "$python" -c \
    "import tensorrt; assert tensorrt.__version__ == '$version', tensorrt.__version__" \
    || give_up "the $version bindings do not import on their stub libraries"
  rm -rf "$target"
  mv "$work" "$target"
  work=""
done
rm -f "$root"/.ready-"$tag"-*
touch "$stamp"
say "real TensorRT bindings $(echo $SPECS | sed 's/[a-z0-9-]*==//g') for $tag in $root/$tag" \
    "($((SECONDS - started)) s)"
