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
The backend's TensorRT calls and the fake of test/tensorrt_fake.py against the REAL bindings.

scripts/setup-tensorrt-bindings.sh (run by scripts/test.sh) unpacks the PyPI bindings wheels
of TensorRT 8.6.1, 10.3.0, 10.13.0.35 and 11.4.0.106 on stub libraries: they import without a
GPU. A tour runs the backend, ``build-engine`` and ``calibrate``'s TensorRT step through every
route on the fake of each version, which records every TensorRT name, constant and call they
use (with their arguments); each is then checked against the real bindings of the same version
in a subprocess (test/tensorrt_bindings_probe.py): the name exists with that kind, and the
arguments get past pybind11's conversion. The fake's own surface (classes, methods, keyword
names, properties, enum values) is compared with the real one. What TensorRT then DOES with
those calls on a GPU is not checked here.
"""

import ast
from functools import lru_cache
import inspect
import json
import os
from pathlib import Path
import re
import subprocess
import sys
import tempfile

import onnx
from onnx import helper
from onnx_fixtures import fired_anchor_model, REFERENCE_MODEL
import pytest

from tao_pointpillars_py import cli
from tao_pointpillars_py.data.bags import write_cloud_bag
from tao_pointpillars_py.errors import ModelLoadError
from tao_pointpillars_py.inference.backends.tensorrt.backend import build_engine, TensorRTBackend
from tao_pointpillars_py.inference.tao_layout import DECODE_BBOX_3D, export_tao
from tao_pointpillars_py.quantization.tensorrt_calibration import write_tensorrt_cache
from tensorrt_bindings_probe import BUILTINS, invoke, outcome
from tensorrt_fake import describe, FakeEnum, Fakes, Interface, Use
from tensorrt_models import clouds, model_inputs, qdq_model

ROOT = Path(__file__).resolve().parents[2]
SETUP = "scripts/setup-tensorrt-bindings.sh"
PROBE = Path(__file__).resolve().parents[1] / "tensorrt_bindings_probe.py"
#: keep in step with SPECS in scripts/setup-tensorrt-bindings.sh
VERSIONS = ("8.6.1", "10.3.0", "10.13.0.35", "11.4.0.106")
#: the modules that call TensorRT
SOURCES = ("tao_pointpillars_py/inference/backends/tensorrt/backend.py",
           "tao_pointpillars_py/commands/build_engine.py",
           "tao_pointpillars_py/quantization/tensorrt_calibration.py")

#: wrong calls that the real bindings must reject (so a probe can say no) and the fake too
WRONG_CALLS = (
    Use("Logger", "__init__", "constructor", (("int", 2),)),  # a severity is not an int
    Use("Builder", "__init__", "constructor", (("str", "logger"),)),
    Use("Runtime", "__init__", "constructor", (("None",),)),
    Use("IOptimizationProfile", "set_shape", "method", (), (
        ("high", ("tuple", (("int", 2),))), ("low", ("tuple", (("int", 1),))),
        ("name", ("str", "x")), ("opt", ("tuple", (("int", 2),))))),
    Use("IBuilderConfig", "set_flag", "method", (("int", 0),)),  # not a BuilderFlag
    Use("IBuilderConfig", "flags", "set", (("list", (("str", "FP16"),)),)),  # an int bitmask
    Use("IBuilderConfig", "set_timing_cache", "method", (("object", "ITimingCache"),),
        (("ignore", ("bool", False)),)),
    Use("IExecutionContext", "set_input_shape", "method", (("str", "x"), ("str", "abc"))),
    Use("IExecutionContext", "execute_async_v3", "method", (("str", "0x5EED"),)),
    Use("ICudaEngine", "__init__", "constructor"),
)


def bindings(version):
    """Folder of the unpacked bindings of ``version`` for this Python, or skip the test."""
    folder = (ROOT / os.environ.get("VENV", ".venv") / "tensorrt-bindings"
              / f"cp{sys.version_info[0]}{sys.version_info[1]}" / version)
    if not (folder / "tensorrt" / "__init__.py").is_file():
        pytest.skip(f"the real TensorRT {version} Python bindings are not set up in {folder}: "
                    f"run {SETUP}")
    return folder


def environment(folder):
    """Environment of a process that imports the real bindings in ``folder`` (and the tests)."""
    libraries = [str(folder / "stubs")] + [p for p in [os.environ.get("LD_LIBRARY_PATH")] if p]
    return dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
                PYTHONPATH=os.pathsep.join([str(folder), str(PROBE.parent), str(ROOT)]),
                LD_LIBRARY_PATH=os.pathsep.join(libraries))


def run_on_real_bindings(version, *args, request=None):
    """Run tensorrt_bindings_probe.py with the real ``tensorrt`` of ``version``; its JSON."""
    folder = bindings(version)
    done = subprocess.run([sys.executable, str(PROBE), *args], env=environment(folder),
                          capture_output=True,
                          text=True, timeout=600,
                          input=None if request is None else json.dumps(request))
    assert done.returncode == 0, f"{PROBE.name} {args} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.splitlines()[-1])


# --- the tour: every route of the backend, build-engine and calibrate on the fake -----------

@lru_cache(maxsize=None)
def tour(version):
    """Record the uses of TensorRT by build-engine, the backend and calibrate on a fake."""
    with tempfile.TemporaryDirectory() as temporary, pytest.MonkeyPatch.context() as patch:
        folder = Path(temporary)
        fakes = Fakes(version=version).install(patch)
        patch.setenv("XDG_CACHE_HOME", str(folder / "xdg"))
        legacy = not version.startswith("11.")
        tiny, qdq = folder / "tiny.onnx", qdq_model(folder / "tiny.int8.onnx")
        fired_anchor_model(tiny, pillar_axis="pillars")
        write_cloud_bag(folder / "bag", [(10**18 + i * 10**8, c)
                                         for i, c in enumerate(clouds(3, seed=7))])
        frame = model_inputs(tiny, 1)[0]

        def build_engine_command(*args, expect=0):
            assert cli.main(["build-engine", *map(str, args)]) == expect

        engine, timing = folder / "tiny.engine", folder / "timing.cache"
        for _ in range(2):  # a new timing cache, then the same one again
            build_engine_command(tiny, "--out", engine, "--timing-cache", timing)
        TensorRTBackend(str(engine)).infer(frame)
        for _ in range(2):  # built into the engine cache, then loaded from it
            TensorRTBackend(str(tiny), engine_cache_dir=folder / "engines").infer(frame)
        build_engine_command(qdq, "--precision", "int8", "--out", folder / "qdq.engine")
        build_engine_command(tiny, "--precision", "fp16", "--out", folder / "fp16.engine",
                             expect=0 if legacy else 2)
        calibration = folder / "tiny.calib"
        build_engine_command(tiny, "--precision", "int8", "--out", folder / "int8.engine",
                             "--calib-bag", folder / "bag", "--calib-frames", 2,
                             "--calib-cache", calibration, expect=0 if legacy else 2)
        if legacy:
            TensorRTBackend(str(tiny), precision="int8", calibration_cache=calibration,
                            engine_cache_dir=folder / "engines").infer(frame)
        assert write_tensorrt_cache(tiny, folder / "calibrate.calib", model_inputs(tiny, 2), 2,
                                    qdq) is legacy
        broken = folder / "broken.onnx"
        fired_anchor_model(broken, pillar_axis="pillars")
        _add_unknown_node(broken)
        with pytest.raises(ModelLoadError, match="parser rejected"):
            build_engine(broken, "fp32")
        _tao_routes(fakes, folder)
        return tuple(fakes.gpu.uses)


def _tao_routes(fakes, folder):
    """Build a TAO model: with its plugins (8.6, 10.x) or converted (11), then a creator gone."""
    tao = folder / "tao.onnx"
    onnx.save(export_tao(onnx.load(str(REFERENCE_MODEL))), str(tao))
    TensorRTBackend(str(tao), engine_cache_dir=folder / "tao-engines")
    fakes.remove_plugin_creators(DECODE_BBOX_3D)
    TensorRTBackend(str(tao), engine_cache_dir=folder / "tao-converted")


def _add_unknown_node(path):
    model = onnx.load(str(path))
    model.graph.node.append(helper.make_node("Mystery", ["num_pillars"], ["unused"],
                                             domain="com.example"))
    onnx.save(model, str(path))


def fake_names(trt):
    """Public names of a fake module, and its nested classes ("ILogger.Severity")."""
    names = ["__version__"] + sorted(n for n in vars(trt) if not n.startswith("_"))
    nested = [f"{n}.{m}" for n in names if isinstance(vars(trt).get(n), type)
              for m, v in vars(vars(trt)[n]).items() if isinstance(v, type) and m[0] != "_"]
    return names + nested


@lru_cache(maxsize=None)
def real(version):
    """Ask the real bindings of ``version`` about the tour's uses, WRONG_CALLS and surface."""
    uses = tour(version)
    request = {"uses": [list(use) for use in uses + WRONG_CALLS],
               "names": fake_names(Fakes(version=version).trt)}
    answer = run_on_real_bindings(version, "probe", request=request)
    answer["checked"] = list(zip(uses, answer["uses"][:len(uses)]))
    answer["wrong"] = answer["uses"][len(uses):]
    return answer


# --- tests ----------------------------------------------------------------------------------

def test_the_setup_script_installs_the_versions_tested_here():
    script = (ROOT / SETUP).read_text()
    specs = re.search(r'^SPECS="([^"]*)"', script, re.MULTILINE).group(1).split()
    assert tuple(spec.split("==")[1] for spec in specs) == VERSIONS


@pytest.mark.parametrize("version", VERSIONS)
def test_the_real_bindings_import_without_a_gpu(version):
    assert real(version)["version"] == version


@pytest.mark.parametrize("version", VERSIONS)
def test_every_tensorrt_use_of_the_code_exists_and_converts_on_the_real_bindings(version):
    checked = real(version)["checked"]
    kinds = {use.kind for use, _ in checked}
    assert len(checked) > 40 and {"class", "constant", "constructor", "method", "get"} <= kinds
    if not version.startswith("11."):
        assert {"set", "callback"} <= kinds  # int8_calibrator, TensorRT calling get_batch
    problems = [f"{use.owner}.{use.name} ({use.kind}{_arguments(use)}): {status}: {detail}"
                for use, (status, detail) in checked if status not in ("ok", "accepted")]
    assert not problems, "\n".join(problems)


def _arguments(use):
    return "" if not use.args and not use.kwargs else f" {use.args} {use.kwargs}"


@pytest.mark.parametrize("version", VERSIONS)
def test_wrong_calls_are_rejected_by_the_real_bindings_and_by_the_fake(version):
    results = real(version)["wrong"]
    assert [status for status, _ in results] == ["rejected"] * len(WRONG_CALLS), results
    trt = Fakes(version=version).trt
    for use in WRONG_CALLS:
        assert outcome(lambda: invoke(trt, list(use)), use.name in BUILTINS)[0] == "rejected", use


@pytest.mark.parametrize("version", VERSIONS)
def test_the_fake_has_the_surface_of_the_real_bindings(version):
    surface = real(version)["surface"]
    trt = Fakes(version=version).trt
    problems = []
    for name in fake_names(trt):
        value = trt
        for part in name.split("."):
            value = vars(value)[part] if isinstance(value, type) else getattr(value, part)
        problems += compare(name, fake_entry(value), surface[name])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_backend_calibrator_subclasses_the_real_base_class(version):
    facts = real(version)["calibrator"]
    if version.startswith("11."):
        assert facts is None  # TensorRT 11 has no Python calibrators
        return
    assert facts["is_instance"] and facts["batch_size"] == 1
    assert facts["algorithm"].endswith("ENTROPY_CALIBRATION_2")
    assert "IInt8EntropyCalibrator2.__init__() must be called" in facts["forgetful"]


def test_every_trt_name_in_the_source_is_reached_by_the_tour():
    """A route the tour misses would leave its TensorRT names unchecked: extend tour()."""
    seen = set()
    for version in VERSIONS:
        for use in tour(version):
            seen.add(use.name if use.owner == "tensorrt" else f"{use.owner}.{use.name}")
    in_source = set().union(*(trt_names(ROOT / source) for source in SOURCES))
    assert {"Builder", "BuilderFlag.FP16", "Logger.WARNING", "int64"} <= in_source
    assert not in_source - seen, f"never used in the tour: {sorted(in_source - seen)}"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_tensorrt_member_named_in_the_backend_is_reached_by_the_tour(version):
    """Attributes of the backend that name a member of a real TensorRT class it uses."""
    surface = real(version)["surface"]
    members = {member for entry in surface.values() if entry.get("kind") == "class"
               for member in entry["members"]}
    used = {use.name for v in VERSIONS for use in tour(v)}
    source = ast.parse((ROOT / SOURCES[0]).read_text())
    named = {node.attr for node in ast.walk(source) if isinstance(node, ast.Attribute)}
    assert {"set_input_shape", "num_io_tensors", "get_tensor_profile_shape"} <= named & members
    assert not (named & members) - used - NOT_TENSORRT, sorted((named & members) - used)


#: attribute names of the backend that are not TensorRT's, though a TensorRT class has them
NOT_TENSORRT = {"name", "dtype", "nbytes"}  # Path.name, device.name(), numpy's dtype, nbytes


@pytest.mark.parametrize("version", VERSIONS[-1:])
def test_calibrate_on_real_tensorrt_11_keeps_the_cache_and_says_why(version, tmp_path):
    model, cache = tmp_path / "tiny.onnx", tmp_path / "tiny.calib"
    fired_anchor_model(model, pillar_axis="pillars")
    cache.write_bytes(b"TRT-8601-EntropyCalibration2\nkept: 1\n")
    done = subprocess.run([sys.executable, str(PROBE), "calibrate", str(model), str(cache),
                           str(tmp_path / "tiny.int8.onnx")], env=environment(bindings(version)),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"TensorRT {version} has no implicit int8 calibration" in done.stdout
    assert json.loads(done.stdout.splitlines()[-1]) == {"written": False}
    assert cache.read_bytes() == b"TRT-8601-EntropyCalibration2\nkept: 1\n"


# --- helpers: the fake's surface, comparison, names in the source ---------------------------

def trt_names(path):
    """``trt.X`` and ``trt.X.Y`` read in a source file, also through getattr / hasattr."""
    names = set()

    def chain(node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        return parts if isinstance(node, ast.Name) and node.id == "trt" else None

    for node in ast.walk(ast.parse(path.read_text())):
        parts = None
        if isinstance(node, ast.Attribute):
            parts = chain(node)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant)):
            base = [] if isinstance(node.args[0], ast.Name) and node.args[0].id == "trt" \
                else chain(node.args[0])
            parts = None if base is None else base + [node.args[1].value]
        if parts:
            names.add(parts[0])
            if len(parts) > 1 and not parts[1].startswith("__"):
                names.add(f"{parts[0]}.{parts[1]}")
    return names


def params(function):
    """[[name, has_default], ...] of a fake function, without self."""
    signature = inspect.signature(inspect.unwrap(function))
    return [[p.name, p.default is not p.empty] for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def fake_entry(value):
    """Describe a fake entry as tensorrt_bindings_probe.describe_surface does a real one."""
    if not isinstance(value, type):
        if callable(value):
            return {"kind": "function", "signatures": [params(value)]}
        return {"kind": "value", "spec": list(_lists(describe(value)))}
    entry = {"kind": "enum" if issubclass(value, FakeEnum) else "class", "members": {},
             "constructible": inspect.unwrap(value.__init__) is not
             inspect.unwrap(Interface.__init__)}
    if entry["kind"] == "enum":
        entry["values"] = {name: int(member) for name, member in value.__members__.items()}
        return entry
    for klass in value.__mro__:
        if klass in (Interface, object):
            break
        for key, raw in vars(klass).items():
            if key.startswith("_") or key in entry["members"]:
                continue
            if isinstance(raw, property):
                member = {"kind": "property", "writable": raw.fset is not None}
            elif isinstance(raw, type):
                member = {"kind": "class"}
            elif isinstance(raw, FakeEnum):
                member = {"kind": "constant", "spec": list(_lists(describe(raw))),
                          "value": int(raw)}
            elif inspect.isfunction(raw):
                member = {"kind": "method", "signatures": [params(raw)]}
            else:  # a public slot or plain attribute: real objects have none
                member = {"kind": type(raw).__name__}
            entry["members"][key] = member
    return entry


def _lists(spec):
    return [_lists(s) if isinstance(s, tuple) else s for s in spec]


def compatible(fake, real_overloads):
    """Whether one real overload takes every call the fake's parameters allow."""
    for overload in real_overloads:
        if (len(fake) <= len(overload)
                and [n for n, _ in fake] == [n for n, _ in overload[:len(fake)]]
                and all(default for _, default in overload[len(fake):])
                and all(real or not mine for (_, mine), (_, real) in zip(fake, overload))):
            return True
    return False


def compare(name, fake, real_entry):
    """Differences of one fake entry from the real one, as lines that say what differs."""
    if real_entry["kind"] != fake["kind"]:
        return [f"{name}: the fake has a {fake['kind']}, the real bindings a {real_entry['kind']}"]
    problems = []
    if fake["kind"] == "value" and fake["spec"] != real_entry["spec"]:
        problems.append(f"{name}: fake {fake['spec']}, real {real_entry['spec']}")
    if fake["kind"] == "function" and not compatible(fake["signatures"][0],
                                                     real_entry["signatures"]):
        problems.append(f"{name}{fake['signatures'][0]}: real {real_entry['signatures']}")
    if fake["kind"] == "enum":
        for member, value in fake["values"].items():
            if real_entry["values"].get(member) != value:
                problems.append(f"{name}.{member} = {value}, real "
                                f"{real_entry['values'].get(member, 'absent')}")
    if fake["kind"] == "class":
        if fake["constructible"] != real_entry["constructible"]:
            problems.append(f"{name}: constructible from Python: fake "
                            f"{fake['constructible']}, real {real_entry['constructible']}")
        for member, mine in fake["members"].items():
            theirs = real_entry["members"].get(member, {"kind": "absent"})
            where = f"{name}.{member}"
            if mine["kind"] != theirs["kind"]:
                problems.append(f"{where}: the fake has a {mine['kind']}, the real bindings "
                                f"{theirs['kind']}")
            elif mine["kind"] == "method" and not compatible(mine["signatures"][0],
                                                             theirs["signatures"]):
                problems.append(f"{where}{mine['signatures'][0]}: real {theirs['signatures']}")
            elif mine["kind"] == "property" and mine["writable"] and not theirs["writable"]:
                problems.append(f"{where}: writable in the fake, read-only in the real one")
            elif mine["kind"] == "constant" and (mine["spec"], mine["value"]) != (
                    theirs["spec"], theirs["value"]):
                problems.append(f"{where}: fake {mine['spec']} = {mine['value']}, real "
                                f"{theirs['spec']} = {theirs['value']}")
    return problems


def test_the_surface_comparison_finds_the_old_fakes_deviations():
    """compare() on entries shaped like the fake of 57f592c: each deviation is reported."""
    real_logger = {"kind": "class", "constructible": True, "members": {
        "WARNING": {"kind": "constant", "spec": ["enum", "ILogger.Severity", "WARNING"],
                    "value": 2},
        "log": {"kind": "method", "signatures": [[["severity", False], ["msg", False]]]}}}
    old_logger = {"kind": "class", "constructible": True, "members": {
        "WARNING": {"kind": "int"}, "messages": {"kind": "member_descriptor"},
        "log": {"kind": "method", "signatures": [[["severity", False], ["msg", False]]]}}}
    assert len(compare("Logger", old_logger, real_logger)) == 2
    real_flag = {"kind": "enum", "values": {"EXPLICIT_BATCH": 0, "EXPLICIT_PRECISION": 1}}
    old_flag = {"kind": "enum", "values": {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1}}
    assert compare("NetworkDefinitionCreationFlag", old_flag, real_flag) == [
        "NetworkDefinitionCreationFlag.STRONGLY_TYPED = 1, real absent"]
    real_profile = {"kind": "method", "signatures": [[["input", False], ["min", False],
                                                      ["opt", False], ["max", False]]]}
    old_profile = [["name", False], ["low", False], ["opt", False], ["high", False]]
    assert not compatible(old_profile, real_profile["signatures"])
    assert compatible([["flags", True]], [[["flags", True]]])
    assert not compatible([["flags", True]], [[["flags", False]]])


@pytest.mark.parametrize("version", VERSIONS)
def test_the_plugin_registry_lookups_convert_on_the_real_bindings(version):
    """8.x: get_plugin_creator; 10.x: get_creator (get_plugin_creator deprecated); 11: none."""
    checked = real(version)["checked"]
    lookups = {use.name: status for use, (status, _) in checked
               if use.owner == "IPluginRegistry" or use.name == "get_plugin_registry"}
    major = int(version.split(".")[0])
    members = real(version)["surface"]["IPluginRegistry"]["members"]
    assert ("get_creator" in members) is (major >= 10)
    assert ("get_plugin_creator" in members) is (major < 11)
    if major >= 11:  # TAO models are converted without asking the registry
        assert lookups == {}
        return
    expected = "get_creator" if major >= 10 else "get_plugin_creator"
    assert set(lookups) == {"get_plugin_registry", expected}
    assert set(lookups.values()) <= {"ok", "accepted"}, lookups
