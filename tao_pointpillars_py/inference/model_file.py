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

"""Model files: read and validate ONNX metadata, the contract, the reference and int8 paths."""

from __future__ import annotations

from dataclasses import dataclass
import enum
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from .tao_layout import tao_model_config
from ..core.config import ModelConfig
from ..errors import ConfigError, ModelLoadError
from ..package_files import package_file

if TYPE_CHECKING:  # onnx is imported lazily at run time
    import onnx

NATIVE_INPUTS = ("pillar_features", "pillar_coords", "num_pillars")
NATIVE_OUTPUTS = ("cls_preds", "box_preds", "dir_cls_preds")
TAO_INPUTS = ("points", "num_points")
TAO_OUTPUTS = ("output_boxes", "num_boxes")


class ModelContract(enum.Enum):
    """Which tensors a model takes and returns; decided from its I/O names."""

    NATIVE = "native"  # pillars in, head tensors out (this package's export)
    TAO = "tao"  # raw points in, decoded boxes out (TAO export with TensorRT plugins)


def detect_contract(input_names: list[str], output_names: list[str],
                    source: str = "model") -> ModelContract:
    """Contract of a model from its input and output tensor names."""
    inputs, outputs = set(input_names), set(output_names)
    if set(NATIVE_INPUTS) <= inputs and set(NATIVE_OUTPUTS[:2]) <= outputs:
        return ModelContract.NATIVE
    if set(TAO_INPUTS) <= inputs and set(TAO_OUTPUTS) <= outputs:
        return ModelContract.TAO
    raise ModelLoadError(
        f"{source} has inputs {sorted(inputs)} and outputs {sorted(outputs)}; expected either "
        f"inputs {list(NATIVE_INPUTS)} -> outputs {list(NATIVE_OUTPUTS)} "
        f"(tao-pointpillars export) or {list(TAO_INPUTS)} -> {list(TAO_OUTPUTS)} (TAO export)")


@dataclass(frozen=True)
class ModelInfo:
    """What a model file is: path, contract, geometry and raw metadata."""

    path: str
    contract: ModelContract
    config: ModelConfig
    metadata: dict[str, str]
    input_shapes: dict[str, tuple[int | str, ...]]
    #: False for a TAO export without this package's metadata: its class names are
    #: placeholders ("class_0", ...) and the user's ``class_names`` name the classes
    class_names_known: bool = True

    @property
    def dynamic_pillars(self) -> bool:
        """True when a native model takes only the occupied pillars (pillar axis symbolic)."""
        shape = self.input_shapes.get("pillar_features", ())
        return len(shape) > 1 and not isinstance(shape[1], int)


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: File name of the reference model shipped with the package.
REFERENCE_MODEL = "pointpillars_zvision.onnx"


def default_model_path() -> Path:
    """Find the reference model: in share/tao_pointpillars_py/models, else the source tree."""
    try:
        return package_file(f"models/{REFERENCE_MODEL}")
    except ConfigError as exc:
        raise ConfigError(f"model_path is empty and the reference model {REFERENCE_MODEL} cannot "
                          f"be found ({exc}); set model_path to an ONNX model") from None


def int8_model_path(model: str | Path) -> Path:
    """Where the int8 Q/DQ variant of ``model`` lives: ``<stem>.int8.onnx`` next to it."""
    model = Path(model)
    if model.name.endswith(".int8.onnx"):
        return model
    return model.with_name(model.name.removesuffix(".onnx") + ".int8.onnx")


#: What every unreadable-model message ends with: how to get a good file.
MODEL_FIX = ("copy the complete .onnx file again, or re-export it with `tao-pointpillars "
             "export` (the reference model is models/pointpillars_zvision.onnx)")


def read_onnx(path: str) -> onnx.ModelProto:
    """Load an ONNX file, turning every failure into a ModelLoadError that names the file."""
    file = Path(path)
    if not file.is_file():
        what = "is a directory, not a file" if file.is_dir() else "does not exist"
        raise ModelLoadError(
            f"model file {path!r} {what}; set model_path to an ONNX file exported by "
            "`tao-pointpillars export` (the reference model is models/pointpillars_zvision.onnx)")
    if file.stat().st_size == 0:
        raise ModelLoadError(f"model file {path!r} is empty (0 bytes); {MODEL_FIX}")
    import onnx  # lazily: only needed when a model is loaded

    try:
        proto = onnx.load(path, load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, ValueError, OSError, ...
        raise ModelLoadError(
            f"model file {path!r} is not a readable ONNX model: {_unreadable(file, exc)}; "
            f"{MODEL_FIX}") from exc
    if not proto.HasField("graph"):
        raise ModelLoadError(f"model file {path!r} is not an ONNX model (it has no graph); "
                             f"{MODEL_FIX}")
    return proto


def is_qdq_model(model: onnx.ModelProto) -> bool:
    """Tell whether a model is explicitly quantized (it holds QuantizeLinear nodes)."""
    return any(node.op_type == "QuantizeLinear" for node in model.graph.node)


def _unreadable(file: Path, exc: Exception) -> str:
    """Say what a file that protobuf cannot parse as a ModelProto most likely is."""
    size = file.stat().st_size
    with open(file, "rb") as f:
        head = f.read(512)
    if head.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer, not the model (run `git lfs pull` in its repository)"
    text = head.decode("utf-8", errors="ignore")
    # at most a multi-byte character cut at byte 512 dropped, and no control bytes: text
    if len(text.encode("utf-8")) >= len(head) - 3 and all(
            c.isprintable() or c in "\t\r\n" for c in text):
        return f"it is a text file ({size} bytes, starting {text[:40]!r}), not a binary .onnx"
    return f"it is truncated or corrupted ({size} bytes; {type(exc).__name__}: {exc})"


def load_model_info(path: str) -> ModelInfo:
    """Read an ONNX model's contract and metadata; refuse models that lack metadata."""
    return model_info(read_onnx(path), path)


def model_info(proto: onnx.ModelProto, path: str) -> ModelInfo:
    """
    Tell what a loaded ONNX model is: contract, input shapes, config (``path`` names it).

    A native model's config is its metadata; a TAO-contract model's comes from
    :func:`~.tao_layout.tao_model_config` (this package's metadata when export-tao wrote it,
    else the plugin attributes, with placeholder class names).
    """
    graph = proto.graph
    initializers = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    input_names = [i.name for i in inputs]
    output_names = [o.name for o in graph.output]
    contract = detect_contract(input_names, output_names, source=path)
    shapes: dict[str, tuple[int | str, ...]] = {}
    for tensor in inputs:
        dims = tensor.type.tensor_type.shape.dim
        shapes[tensor.name] = tuple(d.dim_value if d.HasField("dim_value") else d.dim_param
                                    for d in dims)
    metadata = {p.key: p.value for p in proto.metadata_props}
    if contract is ModelContract.TAO:
        config, names_known = tao_model_config(proto, source=path)
    else:
        config, names_known = ModelConfig.from_metadata(metadata, source=path), True
        _check_native_shapes(path, shapes, config)
    return ModelInfo(path, contract, config, metadata, shapes, names_known)


def _check_native_shapes(path: str, shapes: dict[str, tuple[int | str, ...]],
                         config: ModelConfig) -> None:
    p = config.pillars
    expected = (1, p.max_pillars, p.max_points_per_pillar, 10)
    got = shapes.get("pillar_features")
    # the pillar axis is either max_pillars or symbolic (only the occupied pillars are fed)
    fits = (got is not None and len(got) == 4
            and (got[0], got[2], got[3]) == (1, p.max_points_per_pillar, 10)
            and (not isinstance(got[1], int) or got[1] == p.max_pillars))
    if not fits:
        raise ModelLoadError(
            f"{path}: input pillar_features has shape {got} but its metadata implies "
            f"{expected} or (1, pillars, {p.max_points_per_pillar}, 10) (max_pillars, "
            "max_points_per_pillar); re-export the model")
