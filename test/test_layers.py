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
The package's layers, read from every import statement (function-local ones included).

Imports go one way: base (errors, package_files) -> core -> inference -> {quantization, data,
ros, sim, training} -> tools -> commands; the entry points (cli, node_main, launch_actions) may
import anything. Only ros/ and the entry points import rclpy or ROS message packages. Imports
inside functions are kept for heavy optional libraries only (and package modules that import one
at their top). Tests and bench/ import library modules, never commands.* or test/.
"""

from __future__ import annotations

import ast
from pathlib import Path
import sys
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "tao_pointpillars_py"

#: layer -> the layers it may import (itself included)
ALLOWED = {
    "base": {"base"},
    "core": {"base", "core"},
    "inference": {"base", "core", "inference"},
    "data": {"base", "core", "data"},
    "quantization": {"base", "core", "inference", "data", "quantization"},
    "ros": {"base", "core", "inference", "data", "ros"},
    "sim": {"base", "core", "inference", "data", "sim"},
    "training": {"base", "core", "inference", "data", "sim", "training"},
    "tools": {"base", "core", "inference", "quantization", "data", "ros", "sim", "training",
              "tools"},
    "commands": {"base", "core", "inference", "quantization", "data", "ros", "sim", "training",
                 "tools"},
    "entry": {"base", "core", "inference", "quantization", "data", "ros", "sim", "training",
              "tools", "commands", "entry"},
}
BASE_MODULES = {"errors", "package_files", "__init__"}
ENTRY_MODULES = {"cli", "node_main", "launch_actions"}

#: ROS 2 client and message packages: ros/ and the entry points only
ROS_PACKAGES = {"rclpy", "sensor_msgs", "sensor_msgs_py", "std_msgs", "geometry_msgs",
                "vision_msgs", "visualization_msgs", "diagnostic_msgs", "builtin_interfaces",
                "rcl_interfaces", "tf2_ros", "launch", "launch_ros", "rosidl_runtime_py"}
#: libraries that are heavy to import or missing where the package still works
HEAVY = {"onnx", "onnxruntime", "tensorrt", "pycuda", "torch", "matplotlib",
         "ament_index_python"} | ROS_PACKAGES


def package_modules() -> dict[str, Path]:
    """Map every module of the package (dotted, without the package name) to its file."""
    modules = {}
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        parts = path.relative_to(REPO / PACKAGE).with_suffix("").parts
        modules[".".join(parts)] = path
    return modules


def layer_of(module: str) -> str:
    """Name the layer of a package module (dotted, without the package name)."""
    top = module.split(".")[0]
    if top in BASE_MODULES:
        return "base"
    if top in ENTRY_MODULES:
        return "entry"
    return top


def imports(path: Path, module: str) -> Iterator[tuple[int, str, bool]]:
    """Yield (line, imported module, inside a function) for every import in a file."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    local = set()
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local.update(id(node) for node in ast.walk(function))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, id(node) in local
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join([PACKAGE] + base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            for name in names:
                yield node.lineno, name, id(node) in local


def internal(name: str, modules: dict[str, Path]) -> str | None:
    """Return the package module an import names (without the package name), else None."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    parts = name.split(".")[1:]
    while parts and not {".".join(parts), ".".join(parts + ["__init__"])} & modules.keys():
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def heavy_modules(modules: dict[str, Path]) -> set[str]:
    """Package modules that import a heavy library at their top, directly or through others."""
    direct: dict[str, set[str]] = {}
    heavy = set()
    for module, path in modules.items():
        direct[module] = set()
        for _, name, in_function in imports(path, module):
            if in_function:
                continue
            if name.split(".")[0] in HEAVY:
                heavy.add(module)
            target = internal(name, modules)
            if target is not None:
                direct[module].add(target)
    changed = True
    while changed:
        changed = False
        for module, targets in direct.items():
            if module not in heavy and targets & heavy:
                heavy.add(module)
                changed = True
    return heavy


def package_violations(modules: dict[str, Path]) -> list[str]:
    """Every import of the package that breaks a rule of this module's docstring."""
    heavy = heavy_modules(modules)
    found = []
    for module, path in modules.items():
        layer = layer_of(module)
        where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        for line, name, in_function in imports(path, module):
            root = name.split(".")[0]
            target = internal(name, modules)
            if root in ROS_PACKAGES and layer not in ("ros", "entry"):
                found.append(f"{where}:{line}: {layer} imports ROS package {name}")
            if target is not None:
                target_layer = layer_of(target)
                if target_layer not in ALLOWED[layer]:
                    found.append(f"{where}:{line}: {layer} imports {target_layer} ({name})")
                elif (layer == "commands" and target.startswith("commands.")
                      and module != "commands.__init__"):
                    found.append(f"{where}:{line}: a command imports another command ({name})")
            if in_function and root not in HEAVY and (target is None or target not in heavy):
                found.append(f"{where}:{line}: function-local import of {name} (light: move it "
                             "to the top)")
    return found


def outside_violations() -> list[str]:
    """List the imports of commands.* or test modules in test/ and bench/."""
    found = []
    test_modules = {p.stem for p in (REPO / "test").rglob("test_*.py")}
    fixture_modules = {p.stem for p in (REPO / "test").rglob("*.py")}
    for folder in ("test", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            where = path.relative_to(REPO)
            for line, name, _ in imports(path, path.stem):
                if name.startswith(f"{PACKAGE}.commands"):
                    found.append(f"{where}:{line}: imports a command ({name})")
                root = name.split(".")[0]
                if folder == "test" and root in test_modules and path.stem.startswith("test_"):
                    found.append(f"{where}:{line}: a test imports another test module ({name})")
                if folder == "bench" and root in fixture_modules:
                    found.append(f"{where}:{line}: bench imports test/ ({name})")
            if folder == "bench" and "sys.path" in path.read_text() and "test" in path.read_text():
                if '"test"' in path.read_text():
                    found.append(f"{where}: puts test/ on sys.path")
    return found


def test_package_imports_go_one_way_and_heavy_libraries_stay_local() -> None:
    assert package_violations(package_modules()) == []


def test_tests_and_benches_import_library_modules_only() -> None:
    assert outside_violations() == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    modules = package_modules()
    core = tmp_path / "core_probe.py"
    core.write_text("def f():\n    from ..ros.node import main\n    return main\n")
    modules["core.probe"] = core
    found = package_violations(modules)
    assert any("core imports ros" in line for line in found), found
    assert any("function-local import" not in line or "ros.node" in line for line in found)


def test_rclpy_outside_ros_is_caught(tmp_path: Path) -> None:
    modules = package_modules()
    probe = tmp_path / "data_probe.py"
    probe.write_text("import rclpy\n")
    modules["data.probe"] = probe
    assert any("data imports ROS package rclpy" in line for line in package_violations(modules))


@pytest.mark.parametrize("subpackage", ["core", "inference", "inference.backends",
                                        "inference.backends.tensorrt", "quantization", "data",
                                        "ros", "tools", "sim", "training", "commands"])
def test_each_subpackage_says_what_it_is_and_may_import(subpackage: str) -> None:
    init = REPO / PACKAGE / Path(*subpackage.split(".")) / "__init__.py"
    tree = ast.parse(init.read_text())
    docstring = ast.get_docstring(tree) or ""
    assert "import" in docstring.lower(), f"{init}: the docstring says what it may import"
    assert any(isinstance(node, (ast.Assign, ast.AnnAssign))
               and "__all__" in ast.unparse(node) for node in tree.body), f"{init}: __all__"


def test_the_package_ships_py_typed() -> None:
    assert (REPO / PACKAGE / "py.typed").is_file()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
