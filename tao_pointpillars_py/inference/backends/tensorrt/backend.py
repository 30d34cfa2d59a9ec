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
TensorRT backend: build (fp32 / fp16 / int8), cache and run engines on an NVIDIA GPU.

``tensorrt`` and ``pycuda`` are imported inside the functions that use them: the module
imports without either; the TensorRT-free planning (routes, shapes, files) is in
:mod:`..engine_plan`. Written from the API of TensorRT 8.5/8.6 and 10.x
(python/src/infer/pyCore.cpp, pyInt8.cpp, parsers/onnx/pyOnnx.cpp of NVIDIA/TensorRT). CI runs
it against a fake of that API (test/tensorrt_fake.py) and checks every call it makes (name,
kind, argument conversion) against the real Python bindings of TensorRT 8.6.1, 10.3.0,
10.13.0.35 and 11.4.0.106 without a GPU (test/inference/test_tensorrt_bindings.py); never on a GPU.

TensorRT names used (all present in 8.5, 8.6 and 10.x): ``__version__``, ``Logger``,
``init_libnvinfer_plugins``, ``get_plugin_registry`` (``IPluginRegistry.get_plugin_creator`` on
8.x, ``get_creator`` from 10.0; the former is gone in 11), ``Builder`` (``create_network``,
``create_builder_config``,
``create_optimization_profile``, ``build_serialized_network``),
``NetworkDefinitionCreationFlag.EXPLICIT_BATCH`` (absent in 11: flags 0), ``OnnxParser``
(``parse``, ``num_errors``, ``get_error``), ``IBuilderConfig`` (``set_memory_pool_limit``,
``set_flag``, ``int8_calibrator``, ``add_optimization_profile``, ``set_calibration_profile``,
``create_timing_cache``, ``set_timing_cache``, ``get_timing_cache``), ``MemoryPoolType.WORKSPACE``,
``BuilderFlag.FP16`` / ``INT8``, ``IOptimizationProfile.set_shape``,
``ITimingCache.serialize``, ``IInt8EntropyCalibrator2``, ``Runtime.deserialize_cuda_engine``,
``ICudaEngine`` (``num_io_tensors``, ``get_tensor_name``, ``get_tensor_mode``,
``get_tensor_shape``, ``get_tensor_dtype``, ``get_tensor_profile_shape``,
``create_execution_context``), ``TensorIOMode.INPUT``, ``IExecutionContext``
(``set_input_shape``, ``get_tensor_shape``, ``set_tensor_address``, ``execute_async_v3``) and
the data types ``float32``, ``float16``, ``int32``, ``int8``, ``bool`` (``int64`` from 10.0).

TAO models (raw points in, TensorRT OSS plugins VoxelGeneratorPlugin, PillarScatterPlugin and
DecodeBbox3DPlugin inside) are built with their plugins where this TensorRT registers their
creators (``init_libnvinfer_plugins`` before parsing and deserializing); on TensorRT 11 and
later, or where a creator is missing, the model is converted as ``tao-pointpillars import-tao``
does into a plain-operator file next to the engine, and that is built (:func:`buildable_model`).

pycuda names used: ``driver.init``, ``driver.Device.count``, ``driver.Context.pop``,
``driver.mem_alloc``, ``driver.pagelocked_empty``, ``driver.Stream`` (``handle``,
``synchronize``), ``driver.memcpy_htod``, ``driver.memcpy_htod_async``,
``driver.memcpy_dtoh_async``, ``autoprimaryctx.context`` (``push``) and
``autoprimaryctx.device`` (``name``, ``compute_capability``).
"""

from __future__ import annotations

from contextlib import contextmanager
import functools
import hashlib
import logging
from pathlib import Path
import threading
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .calibration_cache import check_calibration_cache, write_calibration_record
from .engine_cache import check_engine_here, engine_path, EngineKey, read_key, write_key
from .plan import (calibration_shapes, check_cache_dir, check_route, default_cache_dir,
                   describe_parser_errors, is_engine_file, pad_to_shape, profile_shapes, Shape,
                   TAO_PLUGINS_DEPRECATION, write_atomic, write_converted_tao)
from ...model_file import file_sha256, is_qdq_model, load_model_info, read_onnx
from ...tao_layout import has_tao_plugins, PLUGIN_OPS, PLUGIN_VERSION
from ....errors import ConfigError, ModelLoadError

LOG = logging.getLogger(__name__)

DEFAULT_WORKSPACE_BYTES = 1 << 30


# --- TensorRT / pycuda -----------------------------------------------------------------------

def _major_version(trt: Any) -> int:
    try:
        return int(str(trt.__version__).split(".")[0])
    except ValueError:
        return 0


def strongly_typed_only(trt: Any) -> bool:
    """Tell TensorRT 11 and later apart: no precision flags, no implicit int8 calibration."""
    return (_major_version(trt) >= 11 or not hasattr(trt.BuilderFlag, "INT8")
            or not hasattr(trt, "IInt8EntropyCalibrator2"))


def build_route(onnx_path: str | Path, precision: str) -> str:
    """
    Check that the installed TensorRT can build ``precision`` of this model; name the route.

    Returns "fp32", "fp16", "explicit-int8" (a Q/DQ model) or "implicit-int8" (a float model
    and a calibrator); raises ConfigError saying what to do otherwise (e.g. on TensorRT 11, or
    int8 of a TAO model with plugins).
    """
    import tensorrt as trt

    proto = read_onnx(str(onnx_path))
    explicit = is_qdq_model(proto)
    check_route(precision, explicit_int8=explicit, strongly_typed=strongly_typed_only(trt),
                tensorrt_version=str(trt.__version__), tao_plugins=has_tao_plugins(proto))
    if precision != "int8":
        return precision
    return "explicit-int8" if explicit else "implicit-int8"


@contextmanager
def cuda_context() -> Iterator[None]:
    """Make the CUDA primary context current on this thread for the block (push / pop)."""
    from pycuda import autoprimaryctx
    import pycuda.driver as cuda

    # the context is current only on the thread that pushed it: rclpy executor threads differ
    autoprimaryctx.context.push()
    try:
        yield
    finally:
        cuda.Context.pop()


def gpu_identity() -> tuple[str, str]:
    """(device name, compute capability "major.minor") of the GPU this process runs on."""
    from pycuda import autoprimaryctx

    major, minor = autoprimaryctx.device.compute_capability()
    return str(autoprimaryctx.device.name()), f"{major}.{minor}"


def engine_key(model_path: str | Path, precision: str, calibration_sha256: str = "") -> EngineKey:
    """Key of an engine built here from ``model_path`` (TensorRT version and GPU of this host)."""
    import tensorrt as trt

    device_name, capability = gpu_identity()
    return EngineKey(file_sha256(model_path), precision, str(trt.__version__), device_name,
                     capability, calibration_sha256)


def make_calibrator(frames: Sequence[Mapping[str, np.ndarray]], cache_path: str | Path | None,
                    input_shapes: Mapping[str, Sequence[int]]) -> Any:
    """
    Make an entropy calibrator (``trt.IInt8EntropyCalibrator2``) for implicit int8.

    ``frames`` are batch-1 model inputs (e.g. ``calibration.calibration_inputs``); each is
    zero-padded to ``input_shapes`` (``calibration_shapes``), copied to device buffers and handed
    to TensorRT in the order it names the inputs. An existing ``cache_path`` is used instead of
    the frames; the cache TensorRT writes goes there. TensorRT prints and swallows exceptions
    raised in these callbacks, so they are logged and kept in ``errors`` and the build fails.
    """
    import pycuda.driver as cuda
    import tensorrt as trt

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):  # type: ignore[misc]
        """Feeds ``frames`` (or the cache) to TensorRT; see :func:`make_calibrator`."""

        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.cache_path = None if cache_path is None else Path(cache_path)
            self.errors: list[str] = []
            self.cache_used: bytes | None = None  # the cache read or written (engine key)
            self.cache_written = False  # True once TensorRT's cache is in cache_path
            self.batches = 0
            self._device: dict[str, Any] = {}
            self._sizes: dict[str, int] = {}

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names: Sequence[str]) -> list[int] | None:
            try:
                if self.batches >= len(frames):
                    return None
                frame = frames[self.batches]
                pointers = []
                for name in names:
                    if name not in frame:
                        raise ConfigError(f"calibration frame {self.batches} has no input "
                                          f"{name!r} (it has {sorted(frame)})")
                    data = pad_to_shape(np.asarray(frame[name]),
                                        input_shapes.get(name, np.shape(frame[name])))
                    cuda.memcpy_htod(self._buffer(name, data.nbytes), data)
                    pointers.append(int(self._device[name]))
                self.batches += 1
                return pointers
            except Exception as exc:  # TensorRT would swallow it
                self._failed("get_batch", exc)
                return None

        def read_calibration_cache(self) -> bytes | None:
            try:
                if self.cache_path is None or not self.cache_path.is_file():
                    return None
                self.cache_used = self.cache_path.read_bytes()
                return self.cache_used
            except Exception as exc:  # TensorRT would swallow it
                self._failed("read_calibration_cache", exc)
                return None

        def write_calibration_cache(self, cache: Any) -> None:
            try:
                self.cache_used = bytes(cache)
                if self.cache_path is not None:
                    write_atomic(self.cache_path, self.cache_used)
                    self.cache_written = True
            except Exception as exc:  # TensorRT would swallow it
                self._failed("write_calibration_cache", exc)

        def _buffer(self, name: str, nbytes: int) -> Any:
            if self._sizes.get(name, -1) < nbytes:
                self._device[name] = cuda.mem_alloc(max(nbytes, 1))
                self._sizes[name] = nbytes
            return self._device[name]

        def _failed(self, where: str, exc: Exception) -> None:
            LOG.error("int8 calibrator %s failed: %s: %s", where, type(exc).__name__, exc)
            self.errors.append(f"{where}: {type(exc).__name__}: {exc}")

    return EntropyCalibrator()


def missing_tao_plugins(trt: Any) -> list[str]:
    """
    Name TAO's plugins that have no creator (version "1", namespace "") in TensorRT's registry.

    Call after ``init_libnvinfer_plugins``. ``IPluginRegistry.get_creator`` exists from 10.0,
    ``get_plugin_creator`` up to 10.x (deprecated in 10.0, gone in 11); both return None for
    a creator that is not registered.
    """
    registry = trt.get_plugin_registry()
    found = []
    for name in PLUGIN_OPS:
        if hasattr(registry, "get_creator"):
            found.append(registry.get_creator(name, PLUGIN_VERSION, ""))
        else:  # TensorRT 8.x
            found.append(registry.get_plugin_creator(name, PLUGIN_VERSION, ""))
    return [name for name, creator in zip(PLUGIN_OPS, found) if creator is None]


def tao_conversion_reason(trt: Any, logger: Any) -> str:
    """
    Say why this TensorRT does not build a TAO model's plugins ("" when it does).

    On TensorRT 11 and later the plugins are not used (deprecated since 10.12); otherwise the
    plugin library is registered (``init_libnvinfer_plugins``) and each creator looked up.
    """
    version = str(trt.__version__)
    if _major_version(trt) >= 11:
        return (f"TensorRT {version} is 11 or later, where this package builds TAO models "
                "without the plugins")
    trt.init_libnvinfer_plugins(logger, "")
    missing = missing_tao_plugins(trt)
    if missing:
        return (f"TensorRT {version} has no plugin creator for {', '.join(missing)} (version "
                f"{PLUGIN_VERSION}, namespace \"\") after init_libnvinfer_plugins")
    return ""


def buildable_model(onnx_path: str | Path, folder: str | Path, *, logger: Any = None,
                    explicit_folder: bool = True) -> Path:
    """
    Give the ONNX file to build for ``onnx_path`` here: itself, or its TAO plugins converted.

    A TAO model whose plugins this TensorRT does not build (:func:`tao_conversion_reason`) is
    converted as ``tao-pointpillars import-tao`` does into ``folder`` (next to the engine;
    ``explicit_folder``: the caller named it, see :func:`~.plan.check_cache_dir`) and that
    file is returned, with a WARNING saying why; engines are then keyed on it.
    """
    import tensorrt as trt

    source = Path(onnx_path)
    proto = read_onnx(str(source))
    if not has_tao_plugins(proto):
        return source
    logger = logger if logger is not None else trt.Logger(trt.Logger.WARNING)
    reason = tao_conversion_reason(trt, logger)
    if not reason:
        return source
    check_cache_dir(folder, explicit=explicit_folder)
    target = write_converted_tao(proto, source, folder)
    LOG.warning("%s is a TAO model with TensorRT plugins (%s) and %s: it was converted to plain "
                "ONNX operators as `tao-pointpillars import-tao` does, into %s, and that is "
                "built instead. NVIDIA deprecated the three plugins in TensorRT 10.12: \"%s\"",
                source, ", ".join(PLUGIN_OPS), reason, target, TAO_PLUGINS_DEPRECATION)
    return target


def _network_flags(trt: Any) -> int:
    flag = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    return 0 if flag is None else 1 << int(flag)


def _attach_timing_cache(config: Any, path: Path) -> None:
    data = path.read_bytes() if path.is_file() else b""
    try:
        cache = config.create_timing_cache(data)
        ok = cache is not None and config.set_timing_cache(cache, ignore_mismatch=False)
    except Exception as exc:  # a corrupt file: TensorRT raises or returns None, by version
        LOG.warning("timing cache %s is unreadable (%s)", path, exc)
        ok = False
    if not ok:
        LOG.warning("timing cache %s does not fit this GPU / TensorRT; starting a new one", path)
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)


def build_engine(onnx_path: str | Path, precision: str, *,
                 workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, calibrator: Any = None,
                 timing_cache_path: str | Path | None = None, logger: Any = None) -> bytes:
    """
    Build a serialized engine from an ONNX model with this package's metadata.

    Routes: fp32; fp16 (BuilderFlag.FP16); explicit int8 (a Q/DQ model: BuilderFlag.INT8, no
    calibrator); implicit int8 (a float model: BuilderFlag.INT8 plus ``calibrator`` from
    :func:`make_calibrator`). On TensorRT 11 no flag is set and fp16 / implicit int8 are
    refused. A dynamic pillar axis gets one optimization profile 1 .. max_pillars.
    """
    import tensorrt as trt

    source = str(onnx_path)
    info = load_model_info(source)
    implicit_int8 = build_route(source, precision) == "implicit-int8"
    strongly_typed = strongly_typed_only(trt)
    if implicit_int8 and calibrator is None:
        raise ConfigError(f"int8 from the float model {source} needs a calibrator (calibration "
                          "frames or cache), or a Q/DQ model from `tao-pointpillars calibrate`")
    cache_path = getattr(calibrator, "cache_path", None) if implicit_int8 else None
    if cache_path is not None and Path(cache_path).is_file():
        check_calibration_cache(cache_path, source)  # read instead of calibrating: must fit
    logger = logger if logger is not None else trt.Logger(trt.Logger.WARNING)
    trt.init_libnvinfer_plugins(logger, "")  # TAO models use VoxelGenerator etc.
    network, builder = _parsed_network(trt, source, logger)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_bytes))
    shapes = profile_shapes(info)
    if shapes:
        profile = builder.create_optimization_profile()
        for name, (low, opt, high) in shapes.items():
            profile.set_shape(name, low, opt, high)
        config.add_optimization_profile(profile)
    if not strongly_typed and precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    if not strongly_typed and precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
    if implicit_int8:
        config.int8_calibrator = calibrator
        if shapes:
            calibration = builder.create_optimization_profile()
            for name, (_, _, high) in shapes.items():
                calibration.set_shape(name, high, high, high)
            config.set_calibration_profile(calibration)
    timing_cache = None if timing_cache_path is None else Path(timing_cache_path)
    if timing_cache is not None:
        _attach_timing_cache(config, timing_cache)
    with cuda_context():  # the calibrator's device buffers live in the primary context
        serialized = builder.build_serialized_network(network, config)
    failures = list(getattr(calibrator, "errors", ())) if implicit_int8 else []
    if serialized is None or failures:
        why = f" (int8 calibrator: {'; '.join(failures)})" if failures else ""
        raise ModelLoadError(f"TensorRT could not build a {precision} engine from {source}{why}; "
                             "see the TensorRT log above for the reason")
    if timing_cache is not None:
        write_atomic(timing_cache, bytes(config.get_timing_cache().serialize()))
    if cache_path is not None and getattr(calibrator, "cache_written", False):
        write_calibration_record(cache_path, source)  # which model the new cache belongs to
    return bytes(serialized)


def _parsed_network(trt: Any, source: str, logger: Any) -> tuple[Any, Any]:
    """(network, builder) of the ONNX file ``source``; refuses what the parser rejects."""
    proto = read_onnx(source)
    reason = tao_conversion_reason(trt, logger) if has_tao_plugins(proto) else ""
    if reason:
        raise ModelLoadError(
            f"{source} is a TAO model with TensorRT plugins and {reason}: convert it with "
            f"`tao-pointpillars import-tao {source} --out MODEL.onnx` and build that "
            "(build_engine_file, `tao-pointpillars build-engine` and the tensorrt backend do "
            "this by themselves)")
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(source).read_bytes()):
        errors = describe_parser_errors(
            [str(parser.get_error(i)) for i in range(parser.num_errors)], proto)
        raise ModelLoadError(f"TensorRT's ONNX parser rejected {source}:\n  "
                             + "\n  ".join(errors) + "\nre-export the model (opset 17) or "
                             "check that the TensorRT plugins it uses exist in this TensorRT")
    return network, builder


def build_engine_file(onnx_path: str | Path, out: str | Path, precision: str, *,
                      workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, calibrator: Any = None,
                      timing_cache_path: str | Path | None = None,
                      logger: Any = None) -> EngineKey:
    """
    Build an engine (:func:`build_engine`), write it to ``out`` with its key sidecar.

    A TAO model this TensorRT does not build with its plugins is converted next to ``out``
    first (:func:`buildable_model`); the key then names the converted file.
    """
    model = buildable_model(onnx_path, Path(out).parent, logger=logger)
    data = build_engine(model, precision, workspace_bytes=workspace_bytes,
                        calibrator=calibrator, timing_cache_path=timing_cache_path, logger=logger)
    used = getattr(calibrator, "cache_used", None) if calibrator is not None else None
    key = engine_key(model, precision, hashlib.sha256(used).hexdigest() if used else "")
    write_atomic(out, data)
    write_key(out, key)
    return key


def check_engine_key(engine: Path) -> EngineKey | None:
    """Refuse an engine whose sidecar names another TensorRT version or GPU than this host's."""
    import tensorrt as trt

    key = read_key(engine)
    if key is None:
        LOG.info("%s has no readable key sidecar (%s.json); loading it unchecked", engine, engine)
        return None
    device_name, capability = gpu_identity()
    check_engine_here(engine, key, str(trt.__version__), device_name, capability)
    return key


class TensorRTBackend:
    """
    A TensorRT engine on the GPU, batch 1, inputs and outputs as numpy arrays.

    ``model_path`` is an ONNX model, built into ``engine_cache_dir`` (once per model,
    precision, TensorRT version, GPU and calibration cache) and loaded from there, or a
    serialized ``.engine`` / ``.plan`` from ``tao-pointpillars build-engine``. Implicit int8
    from a float model needs ``calibration_cache`` (frames cannot be drawn here). A TAO model
    whose plugins this TensorRT does not build is converted first (:func:`buildable_model`):
    ``input_names`` then are the native ones. ``input_shapes`` are the engine's, a dynamic
    dimension as the string "low..high" of its optimization profile.
    """

    name = "tensorrt"

    def __init__(self, model_path: str, *, precision: str = "fp32",
                 engine_cache_dir: str | Path | None = None,
                 workspace_bytes: int = DEFAULT_WORKSPACE_BYTES,
                 calibration_cache: str | Path | None = None,
                 timing_cache: str | Path | None = None, logger: Any = None) -> None:
        import tensorrt as trt

        self._logger = logger if logger is not None else trt.Logger(trt.Logger.WARNING)
        trt.init_libnvinfer_plugins(self._logger, "")  # before deserializing TAO plugins
        self._lock = threading.Lock()
        self._converted: Path | None = None  # the TAO model's import-tao conversion, if built
        self._runtime = trt.Runtime(self._logger)  # must outlive its engines
        source = Path(model_path)
        with cuda_context():
            if is_engine_file(source):
                self.engine_path, engine = source, self._load_engine_file(trt, source)
            else:
                cached = functools.partial(self._cached_engine_path, source, precision,
                                           engine_cache_dir, workspace_bytes,
                                           calibration_cache, timing_cache)
                self.engine_path = cached(rebuild=False)
                engine = self._runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
                if engine is None:
                    LOG.warning("cached engine %s does not load; rebuilding it", self.engine_path)
                    engine = self._runtime.deserialize_cuda_engine(
                        cached(rebuild=True).read_bytes())
                if engine is None:
                    raise ModelLoadError(
                        f"TensorRT cannot load the engine it built ({self.engine_path})")
            self._allocate(trt, engine)

    def _load_engine_file(self, trt: Any, source: Path) -> Any:
        if not source.is_file():
            raise ModelLoadError(f"engine file {source} does not exist; build one with "
                                 "`tao-pointpillars build-engine MODEL.onnx --out ENGINE`")
        check_engine_key(source)
        engine = self._runtime.deserialize_cuda_engine(source.read_bytes())
        if engine is None:
            raise ModelLoadError(
                f"TensorRT {trt.__version__} cannot load {source} (built by another TensorRT "
                "version or for another GPU, or not an engine): rebuild it here with "
                "`tao-pointpillars build-engine`")
        return engine

    def _cached_engine_path(self, model: Path, precision: str, cache_dir: str | Path | None,
                            workspace_bytes: int, calibration_cache: str | Path | None,
                            timing_cache: str | Path | None, rebuild: bool) -> Path:
        """Path of a loadable engine for ``model`` in the cache, built first when needed."""
        implicit_int8 = build_route(model, precision) == "implicit-int8"
        calibration = None if calibration_cache is None else Path(calibration_cache)
        if implicit_int8 and (calibration is None or not calibration.is_file()):
            raise ConfigError(
                f"precision int8 of the float model {model} needs an existing calibration cache "
                f"(calibration_cache is {calibration_cache!r}): make one with `tao-pointpillars "
                "build-engine MODEL.onnx --precision int8 --calib-bag BAG --calib-cache C`, or "
                "use a Q/DQ model from `tao-pointpillars calibrate`")
        if implicit_int8 and calibration is not None:
            check_calibration_cache(calibration, model)  # also before loading a cached engine
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        built = buildable_model(model, folder, logger=self._logger,
                                explicit_folder=cache_dir is not None)
        self._converted = built if built != model else None
        model = built
        key = engine_key(model, precision,
                         file_sha256(calibration) if implicit_int8 and calibration else "")
        target = engine_path(folder, model, key)
        if not rebuild and target.is_file():
            found = read_key(target)
            if found == key:
                return target
            LOG.warning("cached engine %s is stale (%s); rebuilding it", target,
                        "; ".join(found.differences(key)) if found is not None
                        else "no readable key sidecar")
        check_cache_dir(folder, explicit=cache_dir is not None)
        LOG.warning("building a %s TensorRT engine for %s into %s (minutes on a Jetson)",
                    precision, model, target)
        calibrator = None
        if implicit_int8:
            shapes = calibration_shapes(load_model_info(str(model)))
            calibrator = make_calibrator([], calibration, shapes)
        build_engine_file(model, target, precision, workspace_bytes=workspace_bytes,
                          calibrator=calibrator, timing_cache_path=timing_cache,
                          logger=self._logger)
        return target

    def _allocate(self, trt: Any, engine: Any) -> None:
        import pycuda.driver as cuda

        self._engine = engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        is_input = {n: engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self.input_names = tuple(n for n in names if is_input[n])
        self.output_names = tuple(n for n in names if not is_input[n])
        self._dtypes = {n: _numpy_dtype(trt, engine.get_tensor_dtype(n), n) for n in names}
        self._context = engine.create_execution_context()
        self._bounds: dict[str, tuple[Shape, Shape]] = {}
        self.input_shapes: dict[str, tuple[int | str, ...]] = {}
        for name in self.input_names:
            shape = tuple(engine.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                low, _, high = (tuple(s) for s in engine.get_tensor_profile_shape(name, 0))
            else:
                low = high = shape
            self._bounds[name] = (low, high)
            self.input_shapes[name] = tuple(lo if lo == hi else f"{lo}..{hi}"
                                            for lo, hi in zip(low, high))
            self._context.set_input_shape(name, high)
        self._stream = cuda.Stream()
        self._host: dict[str, np.ndarray] = {}
        self._device: dict[str, Any] = {}
        for name in names:  # sized for the largest input shapes
            shape = (self._bounds[name][1] if is_input[name]
                     else tuple(self._context.get_tensor_shape(name)))
            if any(d < 0 for d in shape):
                raise ModelLoadError(f"engine output {name} has a data-dependent shape {shape}; "
                                     "only outputs bounded by the input shapes are supported")
            self._host[name] = cuda.pagelocked_empty(max(int(np.prod(shape)), 1),
                                                     self._dtypes[name])
            self._device[name] = cuda.mem_alloc(max(self._host[name].nbytes, 1))
            self._context.set_tensor_address(name, int(self._device[name]))

    def describe(self) -> str:
        """Say what was changed in the model: its TAO plugins converted, else nothing."""
        if self._converted is None:
            return ""
        return (f"TAO plugins converted to plain operators as `tao-pointpillars import-tao` "
                f"does (TensorRT builds {self._converted})")

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one frame: inputs within the engine's shape bounds; outputs are fresh arrays."""
        import pycuda.driver as cuda

        values = {name: self._checked(name, inputs) for name in self.input_names}
        with self._lock, cuda_context():
            for name, value in values.items():
                if self._context.set_input_shape(name, value.shape) is False:
                    raise ModelLoadError(f"TensorRT refused shape {value.shape} for input {name}")
                host = self._host[name][: value.size]
                host[...] = value.reshape(-1)
                cuda.memcpy_htod_async(self._device[name], host, self._stream)
            if not self._context.execute_async_v3(self._stream.handle):
                raise ModelLoadError(f"TensorRT failed to run {self.engine_path}; see its log")
            shapes = {name: tuple(self._context.get_tensor_shape(name))
                      for name in self.output_names}
            for name, shape in shapes.items():
                host = self._host[name][: int(np.prod(shape))]
                cuda.memcpy_dtoh_async(host, self._device[name], self._stream)
            self._stream.synchronize()
            return {name: self._host[name][: int(np.prod(shape))].reshape(shape).copy()
                    for name, shape in shapes.items()}

    def _checked(self, name: str, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        if name not in inputs:
            raise ModelLoadError(f"input {name} is missing (got {sorted(inputs)})")
        value = np.ascontiguousarray(inputs[name], dtype=self._dtypes[name])
        low, high = self._bounds[name]
        if value.ndim != len(low) or any(
                not lo <= d <= hi for d, lo, hi in zip(value.shape, low, high)):
            raise ModelLoadError(f"input {name} has shape {value.shape}, the engine takes "
                                 f"{low} .. {high}")
        return value


def _numpy_dtype(trt: Any, dtype: Any, name: str) -> np.dtype[Any]:
    table = {trt.float32: np.float32, trt.float16: np.float16, trt.int32: np.int32,
             trt.int8: np.int8, trt.bool: np.bool_}
    int64 = getattr(trt, "int64", None)  # TensorRT 10.0 and later
    if int64 is not None:
        table[int64] = np.int64
    if dtype not in table:
        raise ModelLoadError(f"engine tensor {name} has data type {dtype}, which this backend "
                             "does not map to numpy")
    return np.dtype(table[dtype])
