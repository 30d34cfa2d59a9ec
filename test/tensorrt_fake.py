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

It exposes only the names the tensorrt backend may use: the calls that exist in TensorRT 8.5,
8.6 and 10.x (``../shared/tensorrt_facts.md``, pyCore.cpp / pyInt8.cpp / pyOnnx.cpp of
NVIDIA/TensorRT) and, with ``version="11.0.0"``, what TensorRT 11 keeps. Modules raise
AttributeError for any other name and the fake objects have ``__slots__``, so reading a call
that does not exist or setting a removed property (``config.max_workspace_size = n``) fails.

The fake does real work that tests can check: the "GPU" is host memory addressed by integer
pointers (copies out of bounds raise), a CUDA context must be current on the calling thread
for every pycuda copy / allocation and for ``execute_async_v3``, the builder checks profiles,
flags and calibration as TensorRT does and drives the calibrator's callbacks, and an engine
embeds its ONNX model, which the execution context runs with ONNX Runtime on what the device
buffers hold.
"""

from __future__ import annotations

import enum
import json
import sys
import threading
import types

import numpy as np
import onnx
import onnxruntime as ort

ENGINE_MAGIC = b"FAKE-TRT-ENGINE\n"
CACHE_MAGIC = "fake-timing-cache"
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
PLUGIN_OPS = ("VoxelGeneratorPlugin", "PillarScatterPlugin", "DecodeBbox3DPlugin")
NUMPY_OF_ONNX = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.FLOAT16: np.float16,
                 onnx.TensorProto.INT32: np.int32, onnx.TensorProto.INT8: np.int8,
                 onnx.TensorProto.BOOL: np.bool_, onnx.TensorProto.INT64: np.int64}


class StrictModule(types.ModuleType):
    """A module whose missing attributes say that the fake (and the documented API) lacks them."""

    def __getattr__(self, name: str):
        raise AttributeError(f"fake module {self.__name__!r} has no attribute {name!r}: not in "
                             "the documented TensorRT 8.6 / 10.x (or pycuda) API")


class FakeGpu:
    """Device memory, per-thread context stacks and what the fake saw, shared by the modules."""

    def __init__(self, name="Orin", capability=(8, 7), count=1):
        self.name, self.capability, self.count = name, capability, count
        self.initialized = False
        self.plugins_registered = False
        self.allocations: dict[int, np.ndarray] = {}
        self.builds = 0
        self.last_flags: set[str] = set()
        self.calibration_batches: list[dict[str, np.ndarray]] = []
        self.executed_shapes: list[dict[str, tuple]] = []
        self.callback_errors: list[str] = []
        self._next = 1 << 20
        self._local = threading.local()

    def stack(self) -> list:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

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


def make_tensorrt(gpu: FakeGpu, version: str = "8.6.1") -> StrictModule:
    """Fake ``tensorrt`` of ``version``: 8.x / 10.x API, or TensorRT 11's strongly typed one."""
    major = int(version.split(".")[0])
    legacy = major < 11  # precision flags, EXPLICIT_BATCH, implicit int8 calibration
    trt = StrictModule("tensorrt")
    trt.__version__ = version

    DataType = enum.Enum("DataType", ["FLOAT", "HALF", "INT8", "INT32", "BOOL", "INT64"])
    types_of_numpy = {np.dtype(np.float32): DataType.FLOAT, np.dtype(np.float16): DataType.HALF,
                      np.dtype(np.int8): DataType.INT8, np.dtype(np.int32): DataType.INT32,
                      np.dtype(np.bool_): DataType.BOOL, np.dtype(np.int64): DataType.INT64}
    trt.float32, trt.float16, trt.int8 = DataType.FLOAT, DataType.HALF, DataType.INT8
    trt.int32 = DataType.INT32
    setattr(trt, "bool", DataType.BOOL)
    if major >= 10:
        trt.int64 = DataType.INT64
    trt.NetworkDefinitionCreationFlag = enum.IntEnum(
        "NetworkDefinitionCreationFlag",
        {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1} if legacy else {"STRONGLY_TYPED": 1})
    trt.BuilderFlag = enum.IntEnum(
        "BuilderFlag", {"FP16": 0, "INT8": 1, "TF32": 7} if legacy else {"TF32": 7})
    trt.MemoryPoolType = enum.IntEnum("MemoryPoolType", {"WORKSPACE": 0})
    trt.TensorIOMode = enum.IntEnum("TensorIOMode", {"NONE": 0, "INPUT": 1, "OUTPUT": 2})

    class Logger:
        __slots__ = ("min_severity", "messages")
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

        def __init__(self, min_severity=2):
            self.min_severity, self.messages = min_severity, []

        def log(self, severity, msg):
            self.messages.append((severity, msg))
            if severity <= self.min_severity:
                print(f"[fake TRT] {msg}", file=sys.stderr)

    def init_libnvinfer_plugins(logger, namespace):
        gpu.plugins_registered = True
        return True

    class INetworkDefinition:
        __slots__ = ("flags", "model", "model_bytes")

        def __init__(self, flags):
            self.flags, self.model, self.model_bytes = flags, None, b""

    class ParserError:
        __slots__ = ("_text",)

        def __init__(self, text):
            self._text = text

        def desc(self):
            return self._text

        def __str__(self):
            return self._text

    class OnnxParser:
        __slots__ = ("_network", "_logger", "_errors")

        def __init__(self, network, logger):
            self._network, self._logger, self._errors = network, logger, []

        @property
        def num_errors(self):
            return len(self._errors)

        def get_error(self, index):
            return self._errors[index]

        def parse(self, model):
            self._errors = []
            if legacy and major < 10 and not self._network.flags & 1:
                self._errors.append(ParserError(
                    "ModelImporter.cpp: the ONNX parser only supports networks with an explicit "
                    "batch dimension (EXPLICIT_BATCH)"))
                return False
            try:
                proto = onnx.load_from_string(bytes(model))
            except Exception as exc:  # protobuf's DecodeError
                self._errors.append(ParserError(f"ModelImporter.cpp: Failed to parse ONNX model "
                                                f"({exc})"))
                return False
            for index, node in enumerate(proto.graph.node):
                plugin = node.op_type in PLUGIN_OPS and gpu.plugins_registered
                if node.domain not in ("", "ai.onnx") and not plugin:
                    self._errors.append(ParserError(
                        f"In node {index} with name: {node.name} and operator: {node.op_type} "
                        "(importFallbackPluginImporter): UNSUPPORTED_NODE: Assertion failed: "
                        "creator && \"Plugin not found, are the plugin name, version, and "
                        "namespace correct?\""))
            if self._errors:
                return False
            self._network.model, self._network.model_bytes = proto, bytes(model)
            return True

    class IOptimizationProfile:
        __slots__ = ("shapes",)

        def __init__(self):
            self.shapes = {}

        def set_shape(self, name, low, opt, high):
            low, opt, high = (tuple(int(d) for d in s) for s in (low, opt, high))
            if not (len(low) == len(opt) == len(high)) or any(
                    not a <= b <= c for a, b, c in zip(low, opt, high)):
                raise RuntimeError(f"Shape provided for {name} is inconsistent: {low} {opt} "
                                   f"{high}")
            self.shapes[name] = (low, opt, high)

    class ITimingCache:
        __slots__ = ("device", "entries")

        def __init__(self, device, entries):
            self.device, self.entries = device, entries

        def serialize(self):
            text = json.dumps({"magic": CACHE_MAGIC, "device": self.device,
                               "entries": self.entries})
            return memoryview(text.encode())

    class IBuilderConfig:
        __slots__ = ("flags", "pool_limits", "profiles", "timing_cache", "calibrator",
                     "calibration_profile")

        def __init__(self):
            self.flags, self.pool_limits, self.profiles = set(), {}, []
            self.timing_cache = self.calibrator = self.calibration_profile = None

        def set_memory_pool_limit(self, pool, pool_size):
            if not isinstance(pool, trt.MemoryPoolType) or int(pool_size) <= 0:
                raise TypeError(f"set_memory_pool_limit({pool!r}, {pool_size!r})")
            self.pool_limits[pool.name] = int(pool_size)

        def set_flag(self, flag):
            if not isinstance(flag, trt.BuilderFlag):
                raise TypeError(f"set_flag() takes a BuilderFlag, got {flag!r}")
            self.flags.add(flag.name)

        def add_optimization_profile(self, profile):
            if not profile.shapes:
                return -1
            self.profiles.append(profile)
            return len(self.profiles) - 1

        def create_timing_cache(self, serialized_timing_cache):
            data = bytes(serialized_timing_cache)
            if not data:
                return ITimingCache(gpu.name, 0)
            try:
                fields = json.loads(data)
                assert fields["magic"] == CACHE_MAGIC
            except Exception:  # TensorRT logs an error and returns no cache
                return None
            return ITimingCache(fields["device"], fields["entries"])

        def set_timing_cache(self, cache, ignore_mismatch):
            if cache.device != gpu.name and not ignore_mismatch:
                return False
            self.timing_cache = cache
            return True

        def get_timing_cache(self):
            return self.timing_cache

    class LegacyBuilderConfig(IBuilderConfig):
        __slots__ = ()

        @property
        def int8_calibrator(self):
            return self.calibrator

        @int8_calibrator.setter
        def int8_calibrator(self, calibrator):
            self.calibrator = calibrator

        def set_calibration_profile(self, profile):
            self.calibration_profile = profile
            return True

    class IInt8EntropyCalibrator2:
        """Base class of Python calibrators; subclasses must call its ``__init__``."""

        def __init__(self):
            self._trt_initialized = True

    class Builder:
        __slots__ = ("_logger",)

        def __init__(self, logger):
            self._logger = logger

        def create_network(self, flags=0):
            return INetworkDefinition(int(flags))

        def create_builder_config(self):
            return LegacyBuilderConfig() if legacy else IBuilderConfig()

        def create_optimization_profile(self):
            return IOptimizationProfile()

        def build_serialized_network(self, network, config):
            gpu.builds += 1
            gpu.last_flags = set(config.flags)
            try:
                header = _build(network, config)
            except BuildError as exc:
                self._logger.log(Logger.ERROR, str(exc))
                return None
            if config.timing_cache is not None:
                config.timing_cache.entries += 1
            text = json.dumps(header).encode()
            return memoryview(ENGINE_MAGIC + len(text).to_bytes(8, "little") + text
                              + network.model_bytes)

    def _build(network, config):
        if network.model is None:
            raise BuildError("the network is empty (the ONNX model was not parsed)")
        inputs = _graph_inputs(network.model)
        profile = config.profiles[0].shapes if config.profiles else {}
        dynamic = [name for name, (dims, _) in inputs.items() if any(d < 0 for d in dims)]
        for name, (dims, _) in inputs.items():
            if name in dynamic and name not in profile:
                raise BuildError(f"Network has dynamic or shape inputs, but no optimization "
                                 f"profile has been defined for {name}")
            if name in profile and any(d >= 0 and any(s[i] != d for s in profile[name])
                                       for i, d in enumerate(dims)):
                raise BuildError(f"profile of {name} {profile[name]} contradicts its fixed "
                                 f"dimensions {dims}")
        qdq = any(node.op_type in QDQ_OPS for node in network.model.graph.node)
        int8 = "INT8" in config.flags
        if legacy and qdq and not int8:
            raise BuildError("the network has Q/DQ layers but BuilderFlag.INT8 is not set")
        calibration = ""
        if legacy and int8 and not qdq:
            calibration = _calibrate(config, inputs, dynamic)
        return {"version": version, "device": gpu.name, "flags": sorted(config.flags),
                "explicit_int8": qdq, "calibration": calibration,
                "profile": {name: [list(s) for s in shapes] for name, shapes in profile.items()}}

    def _calibrate(config, inputs, dynamic):
        calibrator = config.calibrator
        if calibrator is None:
            raise BuildError("BuilderFlag.INT8 without a calibrator or Q/DQ layers")
        if not getattr(calibrator, "_trt_initialized", False):
            raise BuildError("calibrator did not call IInt8EntropyCalibrator2.__init__")
        if dynamic and config.calibration_profile is None:
            raise BuildError("a network with dynamic shapes needs a calibration profile")
        shapes = {name: (config.calibration_profile.shapes[name][1] if name in dynamic
                         else dims) for name, (dims, _) in inputs.items()}
        cache = _callback(calibrator.read_calibration_cache)
        if cache:
            return bytes(cache).decode()
        gpu.calibration_batches = []
        while True:
            if _callback(calibrator.get_batch_size) != 1:
                raise BuildError("calibration batch size must be 1 (explicit batch)")
            pointers = _callback(calibrator.get_batch, list(inputs))
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
        _callback(calibrator.write_calibration_cache, memoryview(text.encode()))
        return text

    def _callback(method, *args):
        try:
            return method(*args)
        except Exception as exc:  # TensorRT prints and swallows exceptions from Python
            gpu.callback_errors.append(f"{type(exc).__name__}: {exc}")
            print(f"[fake TRT] Exception caught in {method.__name__}(): {exc}", file=sys.stderr)
            return None

    def _graph_inputs(model):
        initializers = {init.name for init in model.graph.initializer}
        return _tensors(v for v in model.graph.input if v.name not in initializers)

    def _tensors(values):
        result = {}
        for value in values:
            tensor = value.type.tensor_type
            dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1
                         for d in tensor.shape.dim)
            result[value.name] = (dims, NUMPY_OF_ONNX[tensor.elem_type])
        return result

    class Runtime:
        __slots__ = ("_logger",)

        def __init__(self, logger):
            self._logger = logger

        def deserialize_cuda_engine(self, serialized_engine):
            data = bytes(serialized_engine)
            if not data.startswith(ENGINE_MAGIC):
                self._logger.log(Logger.ERROR, "the data is not a serialized engine")
                return None
            start = len(ENGINE_MAGIC) + 8
            size = int.from_bytes(data[len(ENGINE_MAGIC):start], "little")
            header = json.loads(data[start:start + size])
            if header["version"] != version or header["device"] != gpu.name:
                self._logger.log(Logger.ERROR, f"The engine plan file is not compatible with "
                                 f"this version of TensorRT ({header['version']} on "
                                 f"{header['device']} != {version} on {gpu.name})")
                return None
            return ICudaEngine(header, data[start + size:])

    class ICudaEngine:
        __slots__ = ("header", "_model_bytes", "_session", "_inputs", "_outputs")

        def __init__(self, header, model_bytes):
            self.header, self._model_bytes, self._session = header, model_bytes, None
            model = onnx.load_from_string(model_bytes)
            self._inputs = _graph_inputs(model)
            self._outputs = _tensors(model.graph.output)

        @property
        def num_io_tensors(self):
            return len(self._inputs) + len(self._outputs)

        def get_tensor_name(self, index):
            return (list(self._inputs) + list(self._outputs))[index]

        def get_tensor_mode(self, name):
            if name in self._inputs:
                return trt.TensorIOMode.INPUT
            return trt.TensorIOMode.OUTPUT if name in self._outputs else trt.TensorIOMode.NONE

        def get_tensor_shape(self, name):
            return self._io(name)[0]

        def get_tensor_dtype(self, name):
            return types_of_numpy[np.dtype(self._io(name)[1])]

        def get_tensor_profile_shape(self, name, profile_index):
            if profile_index != 0 or name not in self._inputs:
                raise RuntimeError(f"no profile {profile_index} shape for {name}")
            shapes = self.header["profile"].get(name)
            dims = self._inputs[name][0]
            return [tuple(s) for s in shapes] if shapes else [dims, dims, dims]

        def create_execution_context(self):
            if self._session is None:
                self._session = ort.InferenceSession(self._model_bytes,
                                                     providers=["CPUExecutionProvider"])
            return IExecutionContext(self)

        def _io(self, name):
            if name in self._inputs:
                return self._inputs[name]
            return self._outputs[name]

    class IExecutionContext:
        __slots__ = ("_engine", "_shapes", "_addresses", "_output_shapes")

        def __init__(self, engine):
            self._engine, self._shapes, self._addresses = engine, {}, {}
            self._output_shapes = {}

        def set_input_shape(self, name, shape):
            shape = tuple(int(d) for d in shape)
            low, _, high = self._engine.get_tensor_profile_shape(name, 0)
            if len(shape) != len(low) or any(
                    not a <= d <= c for a, d, c in zip(low, shape, high)):
                return False
            self._shapes[name] = shape
            return True

        def get_tensor_shape(self, name):
            engine = self._engine
            if name in engine._inputs:
                return self._shapes.get(name, engine._inputs[name][0])
            if set(self._shapes) != set(engine._inputs):
                return engine._outputs[name][0]
            key = tuple(sorted(self._shapes.items()))
            if key not in self._output_shapes:
                feed = {n: np.zeros(s, engine._inputs[n][1]) for n, s in self._shapes.items()}
                outputs = engine._session.run(list(engine._outputs), feed)
                self._output_shapes[key] = dict(zip(engine._outputs, (o.shape for o in outputs)))
            return self._output_shapes[key][name]

        def set_tensor_address(self, name, memory):
            self._addresses[name] = int(memory)
            return True

        def execute_async_v3(self, stream_handle):
            gpu.require_context("enqueueV3")
            engine = self._engine
            missing = [n for n in list(engine._inputs) + list(engine._outputs)
                       if n not in self._addresses]
            if missing or set(self._shapes) != set(engine._inputs):
                raise RuntimeError(f"enqueueV3: addresses {missing} or input shapes not set")
            feed = {name: gpu.read(self._addresses[name], shape, engine._inputs[name][1])
                    for name, shape in self._shapes.items()}
            gpu.executed_shapes.append(dict(self._shapes))
            outputs = engine._session.run(list(engine._outputs), feed)
            for name, value in zip(engine._outputs, outputs):
                gpu.write(self._addresses[name], value)
            self._output_shapes[tuple(sorted(self._shapes.items()))] = dict(
                zip(engine._outputs, (o.shape for o in outputs)))
            return True

    for value in (Logger, init_libnvinfer_plugins, Builder, OnnxParser, Runtime):
        setattr(trt, value.__name__, value)
    if legacy:
        trt.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2
    return trt


class BuildError(Exception):
    """Why the fake builder returns None (logged through the TensorRT logger)."""


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


def remove_gpu_stack(monkeypatch) -> None:
    """Make ``import tensorrt`` / ``import pycuda`` fail, as on a machine without them."""
    for name in ("tensorrt", "pycuda", "pycuda.driver", "pycuda.autoprimaryctx"):
        monkeypatch.setitem(sys.modules, name, None)
