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
Run in a process that imports the REAL ``tensorrt`` bindings (on stub libraries, no GPU).

``python tensorrt_bindings_probe.py probe < request.json``: the request names uses of
TensorRT (``tensorrt_fake.Use`` as lists) and the classes whose surface to describe; the
answer (stdout, JSON) gives, per use, whether the real bindings have that name with that kind
and whether they convert those arguments, plus the real surface and a calibrator check.

Argument probes call a method on ``cls.__new__(cls)``, an instance whose C++ object is NULL:
pybind11 converts every argument first, so a wrong call raises "TypeError: ... incompatible
function arguments", and a right one gets past conversion and then dies on the NULL object
(SIGSEGV, or a RuntimeError). Each probe therefore runs in a forked child; only the Logger,
Dims and calibrator objects are real (the bindings make them without libnvinfer). Constructors
that call a libnvinfer factory reach a stub, which returns NULL: also past conversion.

``python tensorrt_bindings_probe.py calibrate MODEL CACHE QDQ``: runs ``calibrate``'s TensorRT
step on these real bindings (pycuda faked by tensorrt_fake) and prints what it did.
"""

import inspect
import json
import os
from pathlib import Path
import re
import signal
import sys
import types

import numpy as np

#: dunder uses recorded by the fake, and the builtin that makes them on a real object
BUILTINS = {"__str__": str, "__bytes__": bytes, "__len__": len, "__int__": int,
            "__getitem__": lambda obj, index: obj[index]}


class Unreproducible(Exception):
    """An argument the fake saw that no real TensorRT object stands for."""


def resolve(trt, qualname):
    """``trt.ILogger.Severity`` from "ILogger.Severity" (AttributeError when missing)."""
    target = trt
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def stand_in_pycuda():
    """Install a ``pycuda.driver`` that lets ``make_calibrator`` import (nothing is copied)."""
    driver = types.ModuleType("pycuda.driver")
    driver.mem_alloc = lambda nbytes: 0x10000
    driver.memcpy_htod = lambda dest, src: None
    package = types.ModuleType("pycuda")
    package.__path__ = []
    package.driver = driver
    sys.modules.update({"pycuda": package, "pycuda.driver": driver})


def project_calibrator(cache=None):
    """Make the backend's own calibrator on the real ``tensorrt``."""
    stand_in_pycuda()
    from tao_pointpillars_py.inference.backends.tensorrt.backend import make_calibrator

    return make_calibrator([], cache, {})


def instance(trt, owner):
    """Make an object of the real class ``owner``: a real one where possible, else NULL."""
    if owner == "Logger":
        return trt.Logger()
    if owner == "Dims":
        return trt.Dims((1, -1, 8, 10))
    cls = resolve(trt, owner)
    return cls.__new__(cls)


def build(trt, spec):
    """Rebuild an argument for the real API from the fake's description (``describe``)."""
    tag = spec[0]
    if tag == "None":
        return None
    if tag in ("bool", "int", "float", "str"):
        return spec[1]
    if tag == "numpy":
        return np.dtype(spec[1]).type(spec[2])
    if tag in ("bytes", "bytearray", "memoryview"):
        data = bytes(min(spec[1], 64))
        return {"bytes": bytes, "bytearray": bytearray, "memoryview": memoryview}[tag](data)
    if tag in ("tuple", "list"):
        items = [build(trt, item) for item in spec[1]]
        return tuple(items) if tag == "tuple" else items
    if tag == "enum":
        return getattr(resolve(trt, spec[1]), spec[2])
    if tag == "object":
        return instance(trt, spec[1])
    if tag == "subclass" and spec[1] == "IInt8EntropyCalibrator2":
        return project_calibrator()
    raise Unreproducible(f"no real TensorRT value stands for {spec}")


def invoke(trt, use):
    """Make the call of ``use`` on the real API (in a forked child: it may crash)."""
    owner, name, kind, args, kwargs = use
    positional = [build(trt, spec) for spec in args]
    named = {key: build(trt, spec) for key, spec in kwargs}
    if owner == "tensorrt":
        return getattr(trt, name)(*positional, **named)
    if kind == "constructor":
        return resolve(trt, owner)(*positional, **named)
    target = instance(trt, owner)
    if name in BUILTINS:
        return BUILTINS[name](target, *positional)
    if kind == "get":
        return getattr(target, name)
    if kind == "set":
        return setattr(target, name, positional[0])
    return getattr(target, name)(*positional, **named)


def outcome(action, builtin=False):
    """
    Classify what the real bindings did with a call: see the module docstring.

    ``builtin``: the call is ``str(obj)``, ``bytes(obj)``, ... whose TypeError says that the
    object lacks the protocol (pybind11's say "incompatible").
    """
    try:
        action()
        return ["accepted", "returned"]
    except Unreproducible as exc:
        return ["unreproducible", str(exc)]
    except AttributeError as exc:
        return ["missing", f"AttributeError: {exc}"]
    except TypeError as exc:
        if builtin or "incompatible" in str(exc) or "No constructor defined" in str(exc):
            return ["rejected", " ".join(str(exc).split())[:500]]
        return ["accepted", f"converted; then TypeError: {str(exc)[:150]}"]
    except Exception as exc:  # the body ran on the NULL object
        return ["accepted", f"converted; then {type(exc).__name__}: {str(exc)[:150]}"]


def in_child(action, builtin=False):
    """Run ``outcome(action)`` in a forked child; a crash there is a call past conversion."""
    sys.stdout.flush()
    sys.stderr.flush()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, json.dumps(outcome(action, builtin)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if data:
        return json.loads(data)
    if os.WIFSIGNALED(status):
        return ["accepted", "converted; then died of "
                f"{signal.Signals(os.WTERMSIG(status)).name} on the NULL object"]
    return ["error", f"the probe exited with status {status} and no answer"]


def real_spec(value):
    """Describe a real constant as the fake's ``describe`` does (enum members by name)."""
    if isinstance(getattr(type(value), "__members__", None), dict) and hasattr(value, "name"):
        return ["enum", type(value).__qualname__, value.name]
    if isinstance(value, (bool, int, float, str)):
        return [type(value).__name__, value]
    return ["other", type(value).__qualname__]


def check(trt, use):
    """[status, detail] of one use: name, kind, and (for calls) argument conversion."""
    owner, name, kind, args, _ = use
    try:
        target = trt if owner == "tensorrt" else resolve(trt, owner)
    except AttributeError:
        return ["missing", f"tensorrt has no {owner}"]
    if kind == "absent":
        if hasattr(target, name):
            return ["present", f"the real {owner} has {name}, which the fake lacks"]
        return ["ok", "absent here too"]
    if name not in BUILTINS and not hasattr(target, name):
        return ["missing", f"the real {owner} has no {name}"]
    if kind in ("class", "function", "value", "constant"):
        value = getattr(target, name)
        if kind == "class" and not isinstance(value, type):
            return ["wrong kind", f"{owner}.{name} is a {type(value).__name__}, not a class"]
        if kind == "function" and (isinstance(value, type) or not callable(value)):
            return ["wrong kind", f"{owner}.{name} is a {type(value).__name__}, not a function"]
        if kind in ("value", "constant") and real_spec(value) != list(args[0]):
            return ["wrong value", f"{owner}.{name} is {real_spec(value)}, the fake has {args[0]}"]
        return ["ok", type(value).__name__]
    if kind == "callback":  # TensorRT calls the Python override of this base-class method
        raw = inspect.getattr_static(target, name)
        if isinstance(raw, property) or not callable(raw):
            return ["wrong kind", f"{owner}.{name} is a {type(raw).__name__}, not a method"]
        return ["ok", "a method of the base class"]
    if name not in BUILTINS:
        raw = inspect.getattr_static(target, name)
        if kind in ("get", "set") and not isinstance(raw, property):
            return ["wrong kind", f"{owner}.{name} is a {type(raw).__name__}, not a property"]
        if kind == "set" and raw.fset is None:
            return ["wrong kind", f"{owner}.{name} is a read-only property"]
        if kind in ("method", "constructor") and isinstance(raw, property):
            return ["wrong kind", f"{owner}.{name} is a property, not a method"]
    return in_child(lambda: invoke(trt, use), builtin=name in BUILTINS)


def split_top_level(text):
    """Split a parameter list at the commas outside brackets."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char in "([{<") - (char in ")]}>")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def signatures(function, name):
    """Each overload's parameters [[name, has_default], ...] (no self) from pybind11's doc."""
    result = []
    pattern = re.compile(rf"^\s*(?:\d+\.\s+)?{re.escape(name)}\((.*)\)\s*->")
    for line in (getattr(function, "__doc__", None) or "").splitlines():
        found = pattern.match(line)
        if found is None or found.group(1) == "*args, **kwargs":
            continue
        params = [[p.split(":")[0].split("=")[0].strip(), " = " in p]
                  for p in split_top_level(found.group(1))]
        result.append([p for p in params if p[0] != "self"])
    return result


def describe_member(raw, value, name):
    """Describe one class member: method (signatures), property, constant or class."""
    if isinstance(raw, property):
        return {"kind": "property", "writable": raw.fset is not None}
    if isinstance(value, type):
        return {"kind": "class"}
    if callable(value):
        return {"kind": "method", "signatures": signatures(value, name)}
    return {"kind": "constant", "spec": real_spec(value), "value": int(value)
            if hasattr(value, "__int__") and not isinstance(value, str) else None}


def describe_class(cls):
    """Members (through the MRO), constructibility and, for an enum, its values."""
    entry = {"kind": "class", "constructible": bool(signatures(cls.__init__, "__init__")),
             "members": {}}
    members = getattr(cls, "__members__", None)
    if isinstance(members, dict):
        entry["kind"] = "enum"
        entry["values"] = {key: int(value) for key, value in members.items()}
    for klass in cls.__mro__[:-1]:
        if klass.__module__ == "pybind11_builtins":
            continue
        for key, raw in vars(klass).items():
            if key in entry["members"] or (key.startswith("_") and key not in BUILTINS):
                continue
            if entry["kind"] == "enum" and key in entry.get("values", {}):
                continue
            try:
                value = getattr(cls, key)
            except Exception:  # a static property that needs the library
                value = raw
            entry["members"][key] = describe_member(raw, value, key)
    return entry


def describe_surface(trt, names):
    """Describe the real module's ``names`` (module attributes, or nested "A.B" classes)."""
    surface = {}
    for name in names:
        try:
            value = resolve(trt, name)
        except AttributeError:
            surface[name] = {"kind": "absent"}
            continue
        if isinstance(value, type):
            surface[name] = describe_class(value)
        elif callable(value):
            surface[name] = {"kind": "function", "signatures": signatures(value, name)}
        else:
            surface[name] = {"kind": "value", "spec": real_spec(value)}
    return surface


def calibrator_facts(trt):
    """Check the backend's calibrator on the real base class: made, dispatched, checked."""
    if not hasattr(trt, "IInt8EntropyCalibrator2"):
        return None
    base = trt.IInt8EntropyCalibrator2
    calibrator = project_calibrator()
    facts = {"is_instance": isinstance(calibrator, base),
             "batch_size": base.get_batch_size(calibrator),  # C++ -> the Python override
             "algorithm": str(base.get_algorithm(calibrator))}

    class Forgetful(base):

        def __init__(self):
            self.cache = None  # without base.__init__(self)

    try:
        Forgetful()
        facts["forgetful"] = "made"
    except TypeError as exc:
        facts["forgetful"] = str(exc)
    return facts


def probe(request):
    """Answer a request: see the module docstring."""
    import tensorrt as trt

    return {"version": trt.__version__,
            "uses": [check(trt, use) for use in request["uses"]],
            "surface": describe_surface(trt, request["names"]),
            "calibrator": calibrator_facts(trt)}


def calibrate(model, cache, qdq):
    """Run ``calibrate``'s TensorRT step here (real tensorrt, fake pycuda); print the result."""
    from tensorrt_fake import FakeGpu, make_pycuda

    sys.modules.update(make_pycuda(FakeGpu()))
    from tao_pointpillars_py.quantization.tensorrt_calibration import write_tensorrt_cache

    written = write_tensorrt_cache(Path(model), Path(cache), [], 3, Path(qdq))
    print(json.dumps({"written": written}))


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        print(json.dumps(probe(json.load(sys.stdin))))
    else:
        calibrate(*sys.argv[2:5])
