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
A small fake of the ``tensorrt`` and ``pycuda`` Python APIs, for CI machines without a GPU.

It exposes only the names the tensorrt backend may use, as the real bindings of its version
have them (8.6.1, 10.x and, from 11, the strongly typed API without precision flags and
calibrators): class names, methods, properties, keyword names, enum members and their
values. test/inference/test_tensorrt_bindings.py compares this surface with the real bindings
wheels of TensorRT 8.6.1, 10.3.0, 10.13.0.35 and 11.4.0.106 (imported on stub libraries,
without a GPU).
Modules raise AttributeError for any other name and the fake objects have ``__slots__``, so
reading a call that does not exist or setting a removed property fails; arguments are checked
as pybind11 converts them (a wrong type or keyword is a TypeError), enums are not ints and
logger severities are ``ILogger.Severity`` members.

The fake records every use made of it from outside (``FakeGpu.uses``: module names read,
class constants, calls with a description of their arguments, calibrator callbacks), so the
bindings test replays exactly the calls the backend makes against the real bindings.

The fake does real work that tests can check: the "GPU" is host memory addressed by integer
pointers (copies out of bounds raise), a CUDA context must be current on the calling thread
for every pycuda copy / allocation and for ``execute_async_v3`` (which returns False and logs
otherwise, as TensorRT does), the builder checks profiles, flags and calibration as TensorRT
does and drives the calibrator's callbacks, and an engine embeds its ONNX model, which the
execution context runs with ONNX Runtime on what the device buffers hold.

TAO's plugins (VoxelGeneratorPlugin, PillarScatterPlugin, DecodeBbox3DPlugin, version "1"):
``init_libnvinfer_plugins`` registers their creators in the plugin registry
(``get_plugin_registry()``: ``get_plugin_creator`` on 8.x and 10.x, ``get_creator`` from 10.0,
as the real bindings have them); the parser imports a plugin op (any domain) or a node of a
custom domain only through a registered creator, else it fails with the real parser's message
of that version; deserializing an engine with plugin layers needs their creators too; engines
with plugin layers run with the numpy references of tao_plugins.py.
``Fakes.remove_plugin_creators`` stands for a TensorRT whose plugin library lacks some of them.
"""

from __future__ import annotations

from contextlib import contextmanager
import functools
import inspect
import json
import sys
import threading
import types
from typing import Any, NamedTuple

import numpy as np
import onnx
import onnxruntime as ort
from tao_plugins import PluginGraph

ENGINE_MAGIC = b"FAKE-TRT-ENGINE\n"
CACHE_MAGIC = "fake-timing-cache"
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
PLUGIN_OPS = ("VoxelGeneratorPlugin", "PillarScatterPlugin", "DecodeBbox3DPlugin")
NUMPY_OF_ONNX = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.FLOAT16: np.float16,
                 onnx.TensorProto.INT32: np.int32, onnx.TensorProto.INT8: np.int8,
                 onnx.TensorProto.BOOL: np.bool_, onnx.TensorProto.INT64: np.int64}

#: dunder methods whose use is recorded (``str(error)``, ``bytes(memory)``, ``tuple(dims)``)
RECORDED_DUNDERS = ("__init__", "__str__", "__bytes__", "__len__", "__getitem__", "__int__")


def enum_values(version: str) -> dict[str, dict[str, int]]:
    """Give the enum members the fake has in TensorRT ``version``, with the real values."""
    major = int(version.split(".")[0])
    if major < 10:
        network = {"EXPLICIT_BATCH": 0, "EXPLICIT_PRECISION": 1}
        builder = {"FP16": 0, "INT8": 1, "TF32": 7}
    elif major == 10:
        network = {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1}
        builder = {"FP16": 0, "INT8": 1, "TF32": 6}
    else:  # 11: strongly typed only, no precision flags
        network = {"STRONGLY_TYPED": 0}
        builder = {"TF32": 6}
    data = {"FLOAT": 0, "HALF": 1, "INT8": 2, "INT32": 3, "BOOL": 4}
    if major >= 10:
        data["INT64"] = 8
    return {"NetworkDefinitionCreationFlag": network, "BuilderFlag": builder,
            "MemoryPoolType": {"WORKSPACE": 0},
            "TensorIOMode": {"NONE": 0, "INPUT": 1, "OUTPUT": 2}, "DataType": data,
            "ILogger.Severity": {"INTERNAL_ERROR": 0, "ERROR": 1, "WARNING": 2, "INFO": 3,
                                 "VERBOSE": 4}}


class Use(NamedTuple):
    """
    One use of the fake ``tensorrt`` by code outside the fake: what the real one must have.

    ``owner`` is "tensorrt" (the module) or a class ("IBuilderConfig", "ILogger.Severity");
    ``kind`` one of "class", "function", "value" (module attributes), "absent" (a read that
    found nothing, e.g. ``hasattr``), "constant" (a class attribute such as an enum member),
    "call" (of a module function), "constructor", "method", "get" / "set" (a property) and
    "callback" (TensorRT calling the Python calibrator); ``args`` and ``kwargs`` (name, spec)
    describe the arguments (:func:`describe`).
    """

    owner: str
    name: str
    kind: str
    args: tuple = ()
    kwargs: tuple = ()


class StrictModule(types.ModuleType):
    """A module whose missing attributes say that the fake (and the documented API) lacks them."""

    def __getattr__(self, name: str):
        raise AttributeError(f"fake module {self.__name__!r} has no attribute {name!r}: not in "
                             "the documented TensorRT 8.6 / 10.x (or pycuda) API")


class TensorRTModule(StrictModule):
    """The fake ``tensorrt`` module: records the names read from it from outside the fake."""

    def __getattribute__(self, name: str):
        value = super().__getattribute__(name)
        if name == "__version__" or not name.startswith("_"):
            gpu = super().__getattribute__("_gpu")
            if isinstance(value, type):
                gpu.record("tensorrt", name, "class")
            elif callable(value):
                gpu.record("tensorrt", name, "function")
            else:
                gpu.record("tensorrt", name, "value", (value,))
        return value

    def __getattr__(self, name: str):
        if not name.startswith("_"):
            super().__getattribute__("_gpu").record("tensorrt", name, "absent")
        return super().__getattr__(name)


class FakeGpu:
    """Device memory, per-thread context stacks and what the fake saw, shared by the modules."""

    def __init__(self, name="Orin", capability=(8, 7), count=1):
        self.name, self.capability, self.count = name, capability, count
        self.initialized = False
        self.plugins_registered = False
        #: (name, version, namespace) -> creator, filled by init_libnvinfer_plugins
        self.plugin_creators: dict[tuple[str, str, str], Any] = {}
        #: plugins init_libnvinfer_plugins does not register (a TensorRT without them)
        self.withheld_plugins: set[str] = set()
        #: plugin nodes the parser imported through a creator: (op type, node name)
        self.plugin_layers: list[tuple[str, str]] = []
        self.allocations: dict[int, np.ndarray] = {}
        self.builds = 0
        self.last_flags: set[str] = set()
        self.calibration_batches: list[dict[str, np.ndarray]] = []
        self.executed_shapes: list[dict[str, tuple]] = []
        self.callback_errors: list[str] = []
        self.uses: dict[Use, None] = {}  # in first-use order
        self._next = 1 << 20
        self._local = threading.local()

    def stack(self) -> list:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    def record(self, owner: str, name: str, kind: str, args=(), kwargs=None) -> None:
        """Record a use of the fake tensorrt, unless the fake itself makes it."""
        if getattr(self._local, "depth", 0) == 0:
            named = tuple((k, describe(v)) for k, v in sorted((kwargs or {}).items()))
            self.uses[Use(owner, name, kind, tuple(describe(a) for a in args), named)] = None

    @contextmanager
    def inside(self):
        """Run a block as the fake: the uses it makes are not the code's."""
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth

    @contextmanager
    def outside(self):
        """Run a block as the code under test (a calibrator callback, from inside the fake)."""
        depth = getattr(self._local, "depth", 0)
        self._local.depth = 0
        try:
            yield
        finally:
            self._local.depth = depth

    def require_context(self, what: str) -> None:
        if not self.stack():
            raise RuntimeError(f"{what} failed: invalid device context (no CUDA context is "
                               "current on this thread)")

    def alloc(self, nbytes: int) -> int:
        pointer = self._next
        self.allocations[pointer] = np.zeros(int(nbytes), np.uint8)
        self._next += (int(nbytes) + 4095) // 4096 * 4096 + 4096
        return pointer

    def view(self, pointer: int, nbytes: int) -> np.ndarray:
        for base, memory in self.allocations.items():
            if base <= pointer < base + len(memory):
                start = pointer - base
                if start + nbytes > len(memory):
                    raise RuntimeError(f"{nbytes} bytes at {pointer:#x} overrun the allocation "
                                       f"of {len(memory)} bytes at {base:#x}")
                return memory[start:start + nbytes]
        raise RuntimeError(f"{pointer:#x} is not device memory")

    def read(self, pointer: int, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        count = int(np.prod(shape))
        return self.view(pointer, count * dtype.itemsize).view(dtype).reshape(shape).copy()

    def write(self, pointer: int, array: np.ndarray) -> None:
        data = np.ascontiguousarray(array)
        self.view(pointer, data.nbytes)[...] = data.reshape(-1).view(np.uint8)


def api_name(cls: type) -> str:
    """Give the real name of a fake class: "Builder", or "ILogger.Severity" (nested)."""
    return cls.__dict__.get("_api_name", cls.__name__)


def fake_base(cls: type) -> type | None:
    """Find the first class of the fake in ``cls``'s MRO (``cls``, or what it subclasses)."""
    return next((c for c in cls.__mro__ if isinstance(c, ApiType) and c.__module__ == __name__
                 and c not in (Interface, FakeEnum)), None)


def describe(value: Any) -> tuple:
    """
    Describe an argument, hashably, so that the bindings test can rebuild it for the real API.

    ("int", 3), ("str", "x"), ("bytes", n), ("tuple", (...)), ("numpy", "int64", 3),
    ("enum", "BuilderFlag", "FP16"), ("object", "IBuilderConfig") for a fake object,
    ("subclass", "IInt8EntropyCalibrator2") for a Python subclass of a fake class (the
    calibrator), ("foreign", type) for anything else (which the real API would not take).
    """
    if value is None:
        return ("None",)
    if isinstance(value, (bool, int, float, str)):
        return (type(value).__name__, value)
    if isinstance(value, np.generic):
        return ("numpy", value.dtype.name, value.item())
    if isinstance(value, (bytes, bytearray, memoryview)):
        return (type(value).__name__, len(bytes(value)))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(describe(v) for v in value))
    if isinstance(value, FakeEnum):
        return ("enum", api_name(type(value)), value.name)
    base = fake_base(type(value))
    if base is type(value):
        return ("object", api_name(base))
    if base is not None:
        return ("subclass", api_name(base))
    return ("foreign", f"{type(value).__module__}.{type(value).__qualname__}")


def incompatible(what: str, *args: Any) -> TypeError:
    """Make the TypeError pybind11 raises when no overload takes the arguments."""
    kind = "constructor" if what == "__init__" else "function"
    shown = ", ".join(repr(a) for a in args)
    return TypeError(f"{what}(): incompatible {kind} arguments. Invoked with: {shown}")


class ApiType(type):
    """Metaclass of the fake's classes: records the uses made of them from outside the fake."""

    def __new__(mcs, name, bases, namespace, record=True):
        if record and namespace.get("__module__") == __name__:  # not a subclass from outside
            owner = namespace.get("_api_name", name)
            namespace = {key: _recorded(owner, key, value) for key, value in namespace.items()}
        return super().__new__(mcs, name, bases, namespace)

    def __init__(cls, name, bases, namespace, record=True):
        super().__init__(name, bases, namespace)

    def __getattribute__(cls, name: str):
        value = super().__getattribute__(name)
        if not name.startswith("_") and isinstance(value, FakeEnum):
            gpu = super().__getattribute__("_gpu")
            if gpu is not None:
                gpu.record(api_name(cls), name, "constant", (value,))
        return value

    def __getattr__(cls, name: str):
        gpu = super().__getattribute__("_gpu")
        if gpu is not None and not name.startswith("_"):
            gpu.record(api_name(cls), name, "absent")
        raise AttributeError(f"type object 'tensorrt.{api_name(cls)}' has no attribute {name!r}")

    def __call__(cls, *args, **kwargs):
        instance = super().__call__(*args, **kwargs)
        if getattr(instance, "_base_initialized", True) is False:  # as pybind11 checks
            raise TypeError(f"tensorrt.tensorrt.{api_name(fake_base(cls))}.__init__() must be "
                            "called when overriding __init__")
        return instance


def _recorded(owner: str, key: str, value: Any) -> Any:
    """Wrap a member of a fake class so that its use from outside the fake is recorded."""
    if key.startswith("_") and key not in RECORDED_DUNDERS:
        return value
    if isinstance(value, property):
        return property(value.fget and _recording(owner, key, "get", value.fget),
                        value.fset and _recording(owner, key, "set", value.fset), None,
                        value.__doc__)
    if inspect.isfunction(value):
        return _recording(owner, key, "constructor" if key == "__init__" else "method", value)
    return value


def _recording(owner: str, name: str, kind: str, function):
    signature = inspect.signature(function)

    @functools.wraps(function)
    def recorded(self, *args, **kwargs):
        try:
            signature.bind(self, *args, **kwargs)
        except TypeError:  # a wrong count or keyword name: no overload matches
            raise incompatible(name, *args, *kwargs.items()) from None
        gpu = type(self)._gpu
        base = fake_base(type(self))
        where = api_name(type(self)) if base is type(self) else owner
        gpu.record(where, name, kind, args, kwargs)
        with gpu.inside():
            return function(self, *args, **kwargs)
    return recorded


class Interface(metaclass=ApiType):
    """Base of the fake's classes; like most TensorRT classes, not constructible from Python."""

    __slots__ = ()
    _gpu: FakeGpu | None = None

    def __init__(self, *args, **kwargs):
        raise TypeError(f"tensorrt.tensorrt.{api_name(type(self))}: No constructor defined!")

    @classmethod
    def _new(cls, *args):
        instance = object.__new__(cls)
        instance._setup(*args)
        return instance


class FakeEnum(metaclass=ApiType, record=False):
    """A pybind11 enum member: ``name``, ``value`` and ``int()``, but not an int."""

    __slots__ = ("_name", "_value")
    _gpu: FakeGpu | None = None
    __members__: dict[str, FakeEnum] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def value(self) -> int:
        return self._value

    def __int__(self) -> int:
        return self._value

    __index__ = __int__

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self._name}: {self._value}>"

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self._name}"


def make_enum(gpu: FakeGpu, qualname: str, values: dict[str, int]) -> type:
    """Make a fake enum class ``qualname`` ("BuilderFlag", "ILogger.Severity") of ``values``."""
    cls = ApiType(qualname.rpartition(".")[2], (FakeEnum,),
                  {"__slots__": (), "_gpu": gpu, "_api_name": qualname,
                   "__module__": "tensorrt"})
    members = {}
    for name, value in values.items():
        member = object.__new__(cls)
        member._name, member._value = name, value
        members[name] = member
        type.__setattr__(cls, name, member)
    type.__setattr__(cls, "__members__", members)
    return cls


def make_pycuda(gpu: FakeGpu) -> dict[str, StrictModule]:
    """Fake ``pycuda``, ``pycuda.driver`` and ``pycuda.autoprimaryctx`` modules."""

    class Context:
        __slots__ = ()

        def push(self):
            gpu.stack().append(self)

        @staticmethod
        def pop():
            if not gpu.stack():
                raise RuntimeError("cuCtxPopCurrent failed: no context on this thread")
            gpu.stack().pop()

    class Device:
        __slots__ = ("ordinal",)

        def __init__(self, ordinal):
            if not gpu.initialized:
                raise RuntimeError("cuInit has not been called")
            if not 0 <= ordinal < gpu.count:
                raise RuntimeError(f"cuDeviceGet failed: invalid device ordinal {ordinal}")
            self.ordinal = ordinal

        def name(self):
            return gpu.name

        def compute_capability(self):
            return gpu.capability

        @staticmethod
        def count():
            if not gpu.initialized:
                raise RuntimeError("cuInit has not been called")
            return gpu.count

    class DeviceAllocation:
        __slots__ = ("pointer",)

        def __init__(self, pointer):
            self.pointer = pointer

        def __int__(self):
            return self.pointer

    class Stream:
        __slots__ = ("handle",)

        def __init__(self):
            gpu.require_context("cuStreamCreate")
            self.handle = 0x5EED

        def synchronize(self):
            gpu.require_context("cuStreamSynchronize")

    def init():
        gpu.initialized = True

    def mem_alloc(nbytes):
        gpu.require_context("cuMemAlloc")
        return DeviceAllocation(gpu.alloc(nbytes))

    def pagelocked_empty(shape, dtype, order="C", mem_flags=0):
        return np.empty(shape, dtype, order=order)

    def memcpy_htod(dest, src):
        gpu.require_context("cuMemcpyHtoD")
        gpu.write(int(dest), np.asarray(src))

    def memcpy_htod_async(dest, src, stream=None):
        gpu.require_context("cuMemcpyHtoDAsync")
        gpu.write(int(dest), np.asarray(src))

    def memcpy_dtoh_async(dest, src, stream=None):
        gpu.require_context("cuMemcpyDtoHAsync")
        dest[...] = gpu.read(int(src), dest.shape, dest.dtype)

    driver = StrictModule("pycuda.driver")
    for value in (Context, Device, Stream, init, mem_alloc, pagelocked_empty, memcpy_htod,
                  memcpy_htod_async, memcpy_dtoh_async):
        setattr(driver, value.__name__, value)
    autoprimaryctx = StrictModule("pycuda.autoprimaryctx")
    init()  # importing the real pycuda.autoprimaryctx initializes CUDA
    autoprimaryctx.context = Context()
    autoprimaryctx.device = Device(0) if gpu.count else None
    package = StrictModule("pycuda")
    package.__path__ = []
    package.driver, package.autoprimaryctx = driver, autoprimaryctx
    return {"pycuda": package, "pycuda.driver": driver, "pycuda.autoprimaryctx": autoprimaryctx}


def make_tensorrt(gpu: FakeGpu, version: str = "8.6.1") -> TensorRTModule:
    """Fake ``tensorrt`` of ``version``: 8.x / 10.x API, or TensorRT 11's strongly typed one."""
    with gpu.inside():  # what making it reads is not a use
        return _make_tensorrt(gpu, version)


def _make_tensorrt(gpu: FakeGpu, version: str) -> TensorRTModule:
    major = int(version.split(".")[0])
    legacy = major < 11  # precision flags, EXPLICIT_BATCH, implicit int8 calibration
    trt = TensorRTModule("tensorrt")
    trt._gpu = gpu
    trt.__version__ = version
    enums = {name: make_enum(gpu, name, values) for name, values in enum_values(version).items()}
    DataType = enums["DataType"]
    Severity = enums["ILogger.Severity"]
    types_of_numpy = {np.dtype(np.float32): DataType.FLOAT, np.dtype(np.float16): DataType.HALF,
                      np.dtype(np.int8): DataType.INT8, np.dtype(np.int32): DataType.INT32,
                      np.dtype(np.bool_): DataType.BOOL}
    if major >= 10:
        types_of_numpy[np.dtype(np.int64)] = DataType.INT64

    def buffer(value: Any, what: str, *args: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise incompatible(what, *args)
        return bytes(value)

    def dims(value: Any, what: str, *args: Any) -> tuple[int, ...]:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise incompatible(what, *args)
        try:
            return tuple(int(d) for d in value)
        except (TypeError, ValueError):
            raise incompatible(what, *args) from None

    class ILogger(Interface):
        __slots__ = ()
        Severity = enums["ILogger.Severity"]
        INTERNAL_ERROR, ERROR = Severity.INTERNAL_ERROR, Severity.ERROR
        WARNING, INFO, VERBOSE = Severity.WARNING, Severity.INFO, Severity.VERBOSE

        def __init__(self):
            pass

        def log(self, severity, msg):
            raise RuntimeError('Tried to call pure virtual function "ILogger::log"')

    class Logger(ILogger):
        __slots__ = ("_min_severity", "_messages")

        def __init__(self, min_severity=Severity.WARNING):
            if not isinstance(min_severity, Severity):
                raise incompatible("__init__", min_severity)
            self._min_severity, self._messages = min_severity, []

        @property
        def min_severity(self):
            return self._min_severity

        @min_severity.setter
        def min_severity(self, value):
            if not isinstance(value, Severity):
                raise incompatible("min_severity", value)
            self._min_severity = value

        def log(self, severity, msg):
            if not isinstance(severity, Severity) or not isinstance(msg, str):
                raise incompatible("log", severity, msg)
            self._messages.append((severity, msg))
            if int(severity) <= int(self._min_severity):
                print(f"[fake TRT] {msg}", file=sys.stderr)

    def init_libnvinfer_plugins(logger, namespace):
        if not (logger is None or isinstance(logger, ILogger)) or not isinstance(namespace, str):
            raise incompatible("init_libnvinfer_plugins", logger, namespace)
        gpu.plugins_registered = True
        for name in PLUGIN_OPS:  # a second registration is ignored, as in inferPlugin.cpp
            if name not in gpu.withheld_plugins:
                gpu.plugin_creators.setdefault((name, "1", namespace),
                                               IPluginCreator._new(name, "1", namespace))
        return True

    class IPluginCreator(Interface):
        __slots__ = ("_name", "_version", "_namespace")

        if major >= 10:  # Python plugin creators subclass it from 10.0
            def __init__(self):
                pass

        def _setup(self, name, version, namespace):
            self._name, self._version, self._namespace = name, version, namespace

        @property
        def name(self):
            return self._name

        @property
        def plugin_version(self):
            return self._version

        @property
        def plugin_namespace(self):
            return self._namespace

    class IPluginRegistry(Interface):
        __slots__ = ()

        def _setup(self):
            pass

        def _find(self, what, type, version, plugin_namespace):  # noqa: A002 (real keyword)
            if not all(isinstance(v, str) for v in (type, version, plugin_namespace)):
                raise incompatible(what, type, version, plugin_namespace)
            return gpu.plugin_creators.get((type, version, plugin_namespace))

        if major < 11:  # deprecated in 10.0, removed in 11
            def get_plugin_creator(self, type, version, plugin_namespace=""):  # noqa: A002
                return self._find("get_plugin_creator", type, version, plugin_namespace)

        if major >= 10:
            def get_creator(self, type, version, plugin_namespace=""):  # noqa: A002
                return self._find("get_creator", type, version, plugin_namespace)

    registry = IPluginRegistry._new()

    def get_plugin_registry():
        return registry

    def log_error(logger, message):
        logger.log(Severity.ERROR, message)

    class Dims(Interface):
        __slots__ = ("_dims",)

        def __init__(self, shape=()):
            self._dims = dims(shape, "__init__", shape)

        def __len__(self):
            return len(self._dims)

        def __getitem__(self, index):
            if isinstance(index, slice):
                return self._dims[index]
            if not isinstance(index, int):
                raise incompatible("__getitem__", index)
            if not -len(self._dims) <= index < len(self._dims):
                raise IndexError(index)
            return self._dims[index]

        def __eq__(self, other):
            return self._dims == tuple(other) if hasattr(other, "__len__") else NotImplemented

        __hash__ = None

        def __repr__(self):
            return repr(self._dims)

    class IHostMemory(Interface):
        __slots__ = ("_data",)

        def _setup(self, data):
            self._data = bytes(data)

        def __bytes__(self):  # the real one has the buffer protocol (bytes(), memoryview())
            return self._data

        @property
        def nbytes(self):
            return len(self._data)

    class INetworkDefinition(Interface):
        __slots__ = ("_flags", "_model", "_model_bytes")

        def _setup(self, flags):
            self._flags, self._model, self._model_bytes = flags, None, b""

    class ParserError(Interface):
        __slots__ = ("_text",)

        def _setup(self, text):
            self._text = text

        def desc(self):
            return self._text

        def __str__(self):
            return self._text

    class OnnxParser(Interface):
        __slots__ = ("_network", "_logger", "_errors")

        def __init__(self, network, logger):
            if not isinstance(network, INetworkDefinition) or not isinstance(logger, ILogger):
                raise incompatible("__init__", network, logger)
            self._network, self._logger, self._errors = network, logger, []

        @property
        def num_errors(self):
            return len(self._errors)

        def get_error(self, index):
            return self._errors[index]

        def parse(self, model, path=None):
            data = buffer(model, "parse", model)
            self._errors = []
            if major < 10 and not self._network._flags & 1 << 0:  # EXPLICIT_BATCH
                self._errors.append(ParserError._new(
                    "ModelImporter.cpp: the ONNX parser only supports networks with an explicit "
                    "batch dimension (EXPLICIT_BATCH)"))
                return False
            try:
                proto = onnx.load_from_string(data)
            except Exception as exc:  # protobuf's DecodeError
                self._errors.append(ParserError._new(f"ModelImporter.cpp: Failed to parse ONNX "
                                                     f"model ({exc})"))
                return False
            layers = []
            for index, node in enumerate(proto.graph.node):
                if node.op_type not in PLUGIN_OPS and node.domain in ("", "ai.onnx"):
                    continue  # a built-in importer
                if _plugin_creator(node) is None:
                    self._errors.append(ParserError._new(plugin_not_found(index, node)))
                else:
                    layers.append((node.op_type, node.name))
            if self._errors:
                return False
            gpu.plugin_layers.extend(layers)
            self._network._model, self._network._model_bytes = proto, data
            return True

    def _plugin_creator(node):
        """Look the node's creator up as the fallback importer does (onnxOpImporters.cpp:6438)."""
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        version, namespace = (attrs.get(key, default) for key, default in (
            ("plugin_version", b"1"), ("plugin_namespace", b"")))
        version, namespace = (v.decode() if isinstance(v, bytes) else str(v)
                              for v in (version, namespace))
        found = gpu.plugin_creators.get((node.op_type, version, namespace))
        if found is None and node.domain:  # 10.x also tries the node's domain as namespace
            found = gpu.plugin_creators.get((node.op_type, version, node.domain))
        return found

    def plugin_not_found(index, node):
        """Word the parser's error for a node without a plugin creator as this version does."""
        reason = 'creator && "Plugin not found, are the plugin name, version, and namespace ' \
            'correct?"'
        if major < 10:
            return f"In node {index} (importFallbackPluginImporter): UNSUPPORTED_NODE: " \
                f"Assertion failed: {reason}"
        return f"In node {index} with name: {node.name} and operator: {node.op_type} " \
            f"(checkFallbackPluginImporter): INVALID_NODE: {reason}"

    class IOptimizationProfile(Interface):
        __slots__ = ("_shapes",)

        def _setup(self):
            self._shapes = {}

        def set_shape(self, input, min, opt, max):  # noqa: A002 (the real keyword names)
            if not isinstance(input, str):
                raise incompatible("set_shape", input, min, opt, max)
            low, best, high = (dims(s, "set_shape", input, min, opt, max) for s in (min, opt, max))
            if not (len(low) == len(best) == len(high)) or any(
                    not a <= b <= c for a, b, c in zip(low, best, high)):
                raise RuntimeError(f"Shape provided for {input} is inconsistent: {low} {best} "
                                   f"{high}")
            self._shapes[input] = (low, best, high)

    class ITimingCache(Interface):
        __slots__ = ("_device", "_entries")

        def _setup(self, device, entries):
            self._device, self._entries = device, entries

        def serialize(self):
            text = json.dumps({"magic": CACHE_MAGIC, "device": self._device,
                               "entries": self._entries})
            return IHostMemory._new(text.encode())

    class IInt8EntropyCalibrator2(metaclass=ApiType):
        """Base class of Python calibrators; subclasses must call its ``__init__``."""

        _base_initialized = False

        def __init__(self):
            self._base_initialized = True

    class IBuilderConfig(Interface):
        __slots__ = ("_flags", "_pool_limits", "_profiles", "_timing_cache", "_calibrator",
                     "_calibration_profile")

        def _setup(self):
            self._flags, self._pool_limits, self._profiles = 0, {}, []
            self._timing_cache = self._calibrator = self._calibration_profile = None

        @property
        def flags(self):
            return self._flags

        @flags.setter
        def flags(self, value):
            if not isinstance(value, int):
                raise incompatible("flags", value)
            self._flags = value

        def set_memory_pool_limit(self, pool, pool_size):
            if not isinstance(pool, trt.MemoryPoolType) or not isinstance(pool_size, int):
                raise incompatible("set_memory_pool_limit", pool, pool_size)
            if pool_size < 0:
                raise TypeError(f"set_memory_pool_limit({pool!r}, {pool_size!r}): size_t")
            self._pool_limits[pool.name] = pool_size

        def set_flag(self, flag):
            if not isinstance(flag, trt.BuilderFlag):
                raise incompatible("set_flag", flag)
            self._flags |= 1 << int(flag)

        def add_optimization_profile(self, profile):
            if not isinstance(profile, IOptimizationProfile):
                raise incompatible("add_optimization_profile", profile)
            if not profile._shapes:
                return -1
            self._profiles.append(profile)
            return len(self._profiles) - 1

        def create_timing_cache(self, serialized_timing_cache):
            data = buffer(serialized_timing_cache, "create_timing_cache", serialized_timing_cache)
            if not data:
                return ITimingCache._new(gpu.name, 0)
            try:
                fields = json.loads(data)
                assert fields["magic"] == CACHE_MAGIC
            except Exception:  # TensorRT logs an error and returns no cache
                return None
            return ITimingCache._new(fields["device"], fields["entries"])

        def set_timing_cache(self, cache, ignore_mismatch):
            if not isinstance(cache, ITimingCache) or not isinstance(ignore_mismatch, bool):
                raise incompatible("set_timing_cache", cache, ignore_mismatch)
            if cache._device != gpu.name and not ignore_mismatch:
                return False
            self._timing_cache = cache
            return True

        def get_timing_cache(self):
            return self._timing_cache

        if legacy:
            @property
            def int8_calibrator(self):
                return self._calibrator

            @int8_calibrator.setter
            def int8_calibrator(self, calibrator):
                if not (calibrator is None or isinstance(calibrator, IInt8EntropyCalibrator2)):
                    raise incompatible("int8_calibrator", calibrator)
                self._calibrator = calibrator

            def set_calibration_profile(self, profile):
                if not isinstance(profile, IOptimizationProfile):
                    raise incompatible("set_calibration_profile", profile)
                self._calibration_profile = profile
                return True

    def flag_names(flags):
        return {name for name, member in trt.BuilderFlag.__members__.items()
                if flags & 1 << int(member)}

    class Builder(Interface):
        __slots__ = ("_logger",)

        def __init__(self, logger):
            if not isinstance(logger, ILogger):
                raise incompatible("__init__", logger)
            self._logger = logger

        def create_network(self, flags=0):
            if not isinstance(flags, int):
                raise incompatible("create_network", flags)
            return INetworkDefinition._new(flags)

        def create_builder_config(self):
            return IBuilderConfig._new()

        def create_optimization_profile(self):
            return IOptimizationProfile._new()

        def build_serialized_network(self, network, config):
            if not (isinstance(network, INetworkDefinition)
                    and isinstance(config, IBuilderConfig)):
                raise incompatible("build_serialized_network", network, config)
            gpu.builds += 1
            gpu.last_flags = flag_names(config._flags)
            try:
                header = _build(network, config)
            except BuildError as exc:
                log_error(self._logger, str(exc))
                return None
            if config._timing_cache is not None:
                config._timing_cache._entries += 1
            text = json.dumps(header).encode()
            return IHostMemory._new(ENGINE_MAGIC + len(text).to_bytes(8, "little") + text
                                    + network._model_bytes)

    def _build(network, config):
        if network._model is None:
            raise BuildError("the network is empty (the ONNX model was not parsed)")
        inputs = _graph_inputs(network._model)
        profile = config._profiles[0]._shapes if config._profiles else {}
        dynamic = [name for name, (shape, _) in inputs.items() if any(d < 0 for d in shape)]
        for name, (shape, _) in inputs.items():
            if name in dynamic and name not in profile:
                raise BuildError(f"Network has dynamic or shape inputs, but no optimization "
                                 f"profile has been defined for {name}")
            if name in profile and any(d >= 0 and any(s[i] != d for s in profile[name])
                                       for i, d in enumerate(shape)):
                raise BuildError(f"profile of {name} {profile[name]} contradicts its fixed "
                                 f"dimensions {shape}")
        flags = flag_names(config._flags)
        qdq = any(node.op_type in QDQ_OPS for node in network._model.graph.node)
        int8 = "INT8" in flags
        if legacy and qdq and not int8:
            raise BuildError("the network has Q/DQ layers but BuilderFlag.INT8 is not set")
        calibration = ""
        if legacy and int8 and not qdq:
            calibration = _calibrate(config, inputs, dynamic)
        plugins = sorted({n.op_type for n in network._model.graph.node
                          if n.op_type in PLUGIN_OPS})
        return {"version": version, "device": gpu.name, "flags": sorted(flags),
                "explicit_int8": qdq, "calibration": calibration, "plugins": plugins,
                "profile": {name: [list(s) for s in shapes] for name, shapes in profile.items()}}

    def _calibrate(config, inputs, dynamic):
        calibrator = config._calibrator
        if calibrator is None:
            raise BuildError("BuilderFlag.INT8 without a calibrator or Q/DQ layers")
        if dynamic and config._calibration_profile is None:
            raise BuildError("a network with dynamic shapes needs a calibration profile")
        shapes = {name: (config._calibration_profile._shapes[name][1] if name in dynamic
                         else shape) for name, (shape, _) in inputs.items()}
        cache = _callback(calibrator, "read_calibration_cache")
        if cache:
            return bytes(cache).decode()
        gpu.calibration_batches = []
        while True:
            if _callback(calibrator, "get_batch_size") != 1:
                raise BuildError("calibration batch size must be 1 (explicit batch)")
            pointers = _callback(calibrator, "get_batch", list(inputs))
            if pointers is None:
                break
            gpu.calibration_batches.append({
                name: gpu.read(int(pointer), shapes[name], inputs[name][1])
                for name, pointer in zip(inputs, pointers)})
        if not gpu.calibration_batches:
            raise BuildError("Calibration failure occurred with no scaling factors detected")
        lines = [f"TRT-{version}-EntropyCalibration2"] + [
            f"{name}: {max(float(np.abs(b[name]).max()) for b in gpu.calibration_batches):.6g}"
            for name in inputs]
        text = "\n".join(lines) + "\n"
        _callback(calibrator, "write_calibration_cache", memoryview(text.encode()))
        return text

    def _callback(calibrator, name, *args):
        with gpu.outside():
            gpu.record("IInt8EntropyCalibrator2", name, "callback", args)
            try:
                return getattr(calibrator, name)(*args)
            except Exception as exc:  # TensorRT prints and swallows exceptions from Python
                gpu.callback_errors.append(f"{type(exc).__name__}: {exc}")
                print(f"[fake TRT] Exception caught in {name}(): {exc}", file=sys.stderr)
                return None

    def _graph_inputs(model):
        initializers = {init.name for init in model.graph.initializer}
        return _tensors(v for v in model.graph.input if v.name not in initializers)

    def _tensors(values):
        result = {}
        for value in values:
            tensor = value.type.tensor_type
            shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1
                          for d in tensor.shape.dim)
            result[value.name] = (shape, NUMPY_OF_ONNX[tensor.elem_type])
        return result

    class Runtime(Interface):
        __slots__ = ("_logger",)

        def __init__(self, logger):
            if not isinstance(logger, ILogger):
                raise incompatible("__init__", logger)
            self._logger = logger

        def deserialize_cuda_engine(self, serialized_engine):
            data = buffer(serialized_engine, "deserialize_cuda_engine", serialized_engine)
            if not data.startswith(ENGINE_MAGIC):
                log_error(self._logger, "the data is not a serialized engine")
                return None
            start = len(ENGINE_MAGIC) + 8
            size = int.from_bytes(data[len(ENGINE_MAGIC):start], "little")
            header = json.loads(data[start:start + size])
            if header["version"] != version or header["device"] != gpu.name:
                log_error(self._logger, f"The engine plan file is not compatible with this "
                          f"version of TensorRT ({header['version']} on {header['device']} != "
                          f"{version} on {gpu.name})")
                return None
            registered = {name for name, _, _ in gpu.plugin_creators}
            if set(header.get("plugins", ())) - registered:
                log_error(self._logger, "1: [pluginV2Runner.cpp::load::300] Error Code 1: "
                          "Serialization (Serialization assertion creator failed.Cannot "
                          "deserialize plugin since corresponding IPluginCreator not found in "
                          "Plugin Registry)")
                return None
            return ICudaEngine._new(header, data[start + size:], self._logger)

    class ICudaEngine(Interface):
        __slots__ = ("_header", "_model_bytes", "_session", "_inputs", "_outputs", "_logger")

        def _setup(self, header, model_bytes, logger):
            self._header, self._model_bytes, self._session = header, model_bytes, None
            model = onnx.load_from_string(model_bytes)
            self._inputs = _graph_inputs(model)
            self._outputs = _tensors(model.graph.output)
            self._logger = logger

        @property
        def num_io_tensors(self):
            return len(self._inputs) + len(self._outputs)

        def get_tensor_name(self, index):
            if not isinstance(index, int):
                raise incompatible("get_tensor_name", index)
            return (list(self._inputs) + list(self._outputs))[index]

        def get_tensor_mode(self, name):
            if name in self._inputs:
                return trt.TensorIOMode.INPUT
            return trt.TensorIOMode.OUTPUT if name in self._outputs else trt.TensorIOMode.NONE

        def get_tensor_shape(self, name):
            return Dims(self._io(name)[0])

        def get_tensor_dtype(self, name):
            return types_of_numpy[np.dtype(self._io(name)[1])]

        def get_tensor_profile_shape(self, name, profile_index):
            if not isinstance(name, str) or not isinstance(profile_index, int):
                raise incompatible("get_tensor_profile_shape", name, profile_index)
            if profile_index != 0 or name not in self._inputs:
                raise RuntimeError(f"no profile {profile_index} shape for {name}")
            shapes = self._header["profile"].get(name)
            shape = self._inputs[name][0]
            return [Dims(s) for s in shapes] if shapes else [Dims(shape) for _ in range(3)]

        def create_execution_context(self):
            if self._session is None:
                self._session = _Runner(self._model_bytes, self._header.get("plugins"))
            return IExecutionContext._new(self)

        def _io(self, name):
            if not isinstance(name, str):
                raise incompatible("get_tensor_shape", name)
            if name in self._inputs:
                return self._inputs[name]
            return self._outputs[name]

    class IExecutionContext(Interface):
        __slots__ = ("_engine", "_shapes", "_addresses", "_output_shapes")

        def _setup(self, engine):
            self._engine, self._shapes, self._addresses = engine, {}, {}
            self._output_shapes = {}

        def set_input_shape(self, name, shape):
            shape = dims(shape, "set_input_shape", name, shape)
            if not isinstance(name, str):
                raise incompatible("set_input_shape", name, shape)
            low, _, high = (tuple(s) for s in self._engine.get_tensor_profile_shape(name, 0))
            if len(shape) != len(low) or any(
                    not a <= d <= c for a, d, c in zip(low, shape, high)):
                return False
            self._shapes[name] = shape
            return True

        def get_tensor_shape(self, name):
            engine = self._engine
            if name in engine._inputs:
                return Dims(self._shapes.get(name, engine._inputs[name][0]))
            if set(self._shapes) != set(engine._inputs):
                return Dims(engine._outputs[name][0])
            key = tuple(sorted(self._shapes.items()))
            declared = engine._outputs[name][0]
            if all(d >= 0 for d in declared) and key not in self._output_shapes:
                return Dims(declared)  # a static output shape: nothing to run
            if key not in self._output_shapes:
                feed = {n: np.zeros(s, engine._inputs[n][1]) for n, s in self._shapes.items()}
                outputs = engine._session.run(list(engine._outputs), feed)
                self._output_shapes[key] = dict(zip(engine._outputs, (o.shape for o in outputs)))
            return Dims(self._output_shapes[key][name])

        def set_tensor_address(self, name, memory):
            if not isinstance(name, str) or not isinstance(memory, int):
                raise incompatible("set_tensor_address", name, memory)
            self._addresses[name] = memory
            return True

        def execute_async_v3(self, stream_handle):
            if not isinstance(stream_handle, int):
                raise incompatible("execute_async_v3", stream_handle)
            engine = self._engine
            missing = [n for n in list(engine._inputs) + list(engine._outputs)
                       if n not in self._addresses]
            unset = set(engine._inputs) - set(self._shapes)
            if not gpu.stack() or missing or unset:  # TensorRT logs the error, returns False
                log_error(engine._logger, "IExecutionContext::enqueueV3: Error Code 1: Cuda "
                          "Runtime (invalid resource handle)" if not gpu.stack() else
                          f"IExecutionContext::enqueueV3: addresses {missing} or input shapes "
                          f"{sorted(unset)} not set")
                return False
            feed = {name: gpu.read(self._addresses[name], shape, engine._inputs[name][1])
                    for name, shape in self._shapes.items()}
            gpu.executed_shapes.append(dict(self._shapes))
            outputs = engine._session.run(list(engine._outputs), feed)
            for name, value in zip(engine._outputs, outputs):
                gpu.write(self._addresses[name], value)
            self._output_shapes[tuple(sorted(self._shapes.items()))] = dict(
                zip(engine._outputs, (o.shape for o in outputs)))
            return True

    classes = [ILogger, Logger, Dims, IHostMemory, INetworkDefinition, ParserError, OnnxParser,
               IOptimizationProfile, ITimingCache, IBuilderConfig, Builder, Runtime, ICudaEngine,
               IExecutionContext, IPluginCreator, IPluginRegistry]
    if legacy:
        classes.append(IInt8EntropyCalibrator2)
    for cls in classes:
        type.__setattr__(cls, "_gpu", gpu)
        setattr(trt, cls.__name__, cls)
    for name, cls in enums.items():
        if "." not in name:
            setattr(trt, name, cls)
    trt.init_libnvinfer_plugins = _recording_function(gpu, init_libnvinfer_plugins)
    trt.get_plugin_registry = _recording_function(gpu, get_plugin_registry)
    for alias, member in (("float32", "FLOAT"), ("float16", "HALF"), ("int8", "INT8"),
                          ("int32", "INT32"), ("bool", "BOOL"), ("int64", "INT64")):
        if member in DataType.__members__:
            setattr(trt, alias, DataType.__members__[member])
    return trt


def _recording_function(gpu: FakeGpu, function):
    signature = inspect.signature(function)

    @functools.wraps(function)
    def recorded(*args, **kwargs):
        try:
            signature.bind(*args, **kwargs)
        except TypeError:
            raise incompatible(function.__name__, *args, *kwargs.items()) from None
        gpu.record("tensorrt", function.__name__, "call", args, kwargs)
        with gpu.inside():
            return function(*args, **kwargs)
    return recorded


class BuildError(Exception):
    """Why the fake builder returns None (logged through the TensorRT logger)."""


class _Runner:
    """What an engine runs: its ONNX model in ONNX Runtime, or with the plugin references."""

    def __init__(self, model_bytes: bytes, plugins: list[str] | None) -> None:
        self.graph = PluginGraph(onnx.load_from_string(model_bytes)) if plugins else None
        self.session = None if plugins else ort.InferenceSession(
            model_bytes, providers=["CPUExecutionProvider"])

    def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self.graph is None:
            return self.session.run(names, feed)
        outputs = self.graph.run(feed)
        return [outputs[name] for name in names]


class Fakes:
    """One fake GPU with its fake tensorrt and pycuda modules; ``install`` them for a test."""

    def __init__(self, version="8.6.1", name="Orin", capability=(8, 7), count=1):
        self.gpu = FakeGpu(name, capability, count)
        self.trt = make_tensorrt(self.gpu, version)
        self.modules = {"tensorrt": self.trt, **make_pycuda(self.gpu)}

    def install(self, monkeypatch) -> Fakes:
        for name, module in self.modules.items():
            monkeypatch.setitem(sys.modules, name, module)
        return self

    def remove_plugin_creators(self, *names: str) -> Fakes:
        """Make this TensorRT lack the plugin creators ``names`` (registered now or later)."""
        self.gpu.withheld_plugins.update(names)
        for key in [key for key in self.gpu.plugin_creators if key[0] in names]:
            del self.gpu.plugin_creators[key]
        return self


def remove_gpu_stack(monkeypatch) -> None:
    """Make ``import tensorrt`` / ``import pycuda`` fail, as on a machine without them."""
    for name in ("tensorrt", "pycuda", "pycuda.driver", "pycuda.autoprimaryctx"):
        monkeypatch.setitem(sys.modules, name, None)
