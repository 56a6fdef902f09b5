# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Launch files, parameter file and RViz config, checked by parsing (launch is not installed).

Everything they name must exist: the executable (a console script of setup.py), the
parameters (declared by the node), the installed files (present in the source tree). The Python
launch file is also run, against stand-ins of ``launch`` and ``launch_ros``, to compare its
remaps with the XML file's.
"""

import ast
import re
import runpy
import sys
import types
import xml.etree.ElementTree as ET

import pytest
import yaml
from conftest import REPO

from sspanoptic_ros import paths
from sspanoptic_ros.ros import node
from sspanoptic_ros.ros.outputs import ID_IMAGES
from sspanoptic_ros.ros.parameters import PARAMETER_NAMES, PARAMETERS, descriptor

LAUNCH_PY = REPO / "launch" / "sspanoptic.launch.py"
LAUNCH_XML = REPO / "launch" / "sspanoptic.launch.xml"
PARAMS_FILE = REPO / "config" / "sspanoptic.yaml"
RVIZ_FILE = REPO / "config" / "sspanoptic.rviz"
ARGUMENTS = {"model", "backend", "image_topic", "namespace", "params_file", "use_rviz"}
PACKAGE, EXECUTABLE = "sspanoptic_ros", "panoptic_node"
SHARE = "$(find-pkg-share sspanoptic_ros)/"


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords}


def share_files(tree: ast.AST) -> list[str]:
    """Paths joined onto the package share folder: PathJoinSubstitution([share, "a", "b"])."""
    return [
        "/".join(e.value for e in c.args[0].elts[1:])
        for c in calls(tree, "PathJoinSubstitution")
        if isinstance(c.args[0].elts[0], ast.Name) and c.args[0].elts[0].id == "share"
    ]


def installed_file_exists(relative: str) -> bool:
    """Whether a file of the share folder is in the source tree (the model is built, not kept)."""
    if relative == f"models/{paths.DEFAULT_MODEL}":
        return True
    return (REPO / relative).is_file()


@pytest.fixture(scope="module")
def launch_py() -> ast.Module:
    return ast.parse(LAUNCH_PY.read_text(), str(LAUNCH_PY))


@pytest.fixture(scope="module")
def launch_xml() -> ET.Element:
    return ET.parse(LAUNCH_XML).getroot()


def test_the_executable_is_a_console_script_of_node_main():
    setup = ast.parse((REPO / "setup.py").read_text())
    entry_points = next(keywords(c)["entry_points"] for c in calls(setup, "setup"))
    scripts = ast.literal_eval(entry_points)["console_scripts"]
    assert f"{EXECUTABLE} = sspanoptic_ros.ros.node:main" in scripts
    assert callable(node.main)


def test_python_launch_file(launch_py):
    arguments = {ast.literal_eval(c.args[0]) for c in calls(launch_py, "DeclareLaunchArgument")}
    assert arguments == ARGUMENTS
    (panoptic,) = calls(launch_py, "LifecycleNode")
    args = keywords(panoptic)
    assert ast.literal_eval(args["executable"]) == EXECUTABLE
    assert args["package"].id == "PACKAGE" and 'PACKAGE = "sspanoptic_ros"' in LAUNCH_PY.read_text()
    overrides = [e for e in args["parameters"].elts if isinstance(e, ast.Dict)]
    names = {ast.literal_eval(k) for d in overrides for k in d.keys}
    assert names == {"model_path", "backend"} and names <= set(PARAMETER_NAMES)
    used = {ast.literal_eval(c.args[0]) for c in calls(launch_py, "LaunchConfiguration")}
    assert used == ARGUMENTS
    files = share_files(launch_py)
    assert set(files) == {"models/demo_synthetic.pt", "config/sspanoptic.yaml",
                          "config/sspanoptic.rviz"}
    assert all(installed_file_exists(f) for f in files), files


def test_xml_launch_file_is_the_twin(launch_xml):
    assert launch_xml.tag == "launch"
    assert {a.get("name") for a in launch_xml.iter("arg")} == ARGUMENTS
    (panoptic,) = launch_xml.iter("lifecycle_node")
    assert (panoptic.get("pkg"), panoptic.get("exec"), panoptic.get("name")) == (
        PACKAGE, EXECUTABLE, "sspanoptic")
    params = panoptic.findall("param")
    assert [p.get("from") for p in params if p.get("from")] == ["$(var params_file)"]
    assert {p.get("name") for p in params if p.get("name")} == {"model_path", "backend"}
    assert [(r.get("from"), r.get("to")) for r in panoptic.iter("remap")] == [
        ("image", "$(var image_topic)"), ("image/compressed", "$(var image_topic)/compressed")]
    text = LAUNCH_XML.read_text()
    assert set(re.findall(r"\$\(var (\w+)\)", text)) == ARGUMENTS
    files = [f for f in re.findall(r"\$\(find-pkg-share sspanoptic_ros\)/([\w./]+)", text)]
    assert set(files) == {"models/demo_synthetic.pt", "config/sspanoptic.yaml",
                          "config/sspanoptic.rviz"}
    assert all(installed_file_exists(f) for f in files), files


def test_both_launch_files_have_the_same_defaults(launch_py, launch_xml):
    def python_default(call):
        value = keywords(call)["default_value"]
        if isinstance(value, ast.Constant):
            return value.value
        return SHARE + "/".join(e.value for e in value.args[0].elts[1:])

    py = {ast.literal_eval(c.args[0]): python_default(c)
          for c in calls(launch_py, "DeclareLaunchArgument")}
    xml = {a.get("name"): a.get("default") for a in launch_xml.iter("arg")}
    assert py == xml


class Recorded:
    """Stand-in for a class of ``launch`` / ``launch_ros``: keeps its arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def run_python_launch_file(tree: ast.Module, monkeypatch) -> Recorded:
    """Return the LaunchDescription of the Python launch file, built from stand-in classes.

    ``launch`` and ``launch_ros`` have no wheel to install here, so every module the file imports
    from is faked in ``sys.modules`` (for this test only), each name it imports a ``Recorded``.
    """
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom):
            parts = statement.module.split(".")
            for i in range(1, len(parts)):
                monkeypatch.setitem(sys.modules, ".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
            module = types.ModuleType(statement.module)
            for alias in statement.names:
                setattr(module, alias.name, type(alias.name, (Recorded,), {}))
            monkeypatch.setitem(sys.modules, statement.module, module)
    return runpy.run_path(str(LAUNCH_PY))["generate_launch_description"]()


def xml_form(value) -> str:
    """Write a launch value as the XML launch file does: ``$(var ...)``, ``$(find-pkg-share ...)``."""
    kind = type(value).__name__
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # substitutions in a list are concatenated
        return "".join(xml_form(v) for v in value)
    if kind == "LaunchConfiguration":
        return f"$(var {value.args[0]})"
    if kind == "FindPackageShare":
        return f"$(find-pkg-share {value.args[0]})"
    if kind == "PathJoinSubstitution":
        return "/".join(xml_form(v) for v in value.args[0])
    raise AssertionError(f"no XML form for {kind}")


def test_python_launch_file_remaps_like_the_xml_one(launch_py, launch_xml, monkeypatch):
    description = run_python_launch_file(launch_py, monkeypatch)
    tags = {"LifecycleNode": "lifecycle_node", "Node": "node"}
    py = {
        (tags[type(e).__name__], e.kwargs["name"]):
            [(xml_form(a), xml_form(b)) for a, b in e.kwargs.get("remappings", [])]
        for e in description.args[0]
        if type(e).__name__ in tags
    }
    xml = {
        (e.tag, e.get("name")): [(r.get("from"), r.get("to")) for r in e.iter("remap")]
        for e in launch_xml
        if e.tag in tags.values()
    }
    assert py == xml
    assert len(xml["lifecycle_node", "sspanoptic"]) == 2 and len(xml["node", "rviz2"]) == 1


def test_parameter_file_sets_every_declared_parameter_to_its_default():
    document = yaml.safe_load(PARAMS_FILE.read_text())
    values = document["/**"]["ros__parameters"]
    assert sorted(values) == sorted(PARAMETER_NAMES)
    for spec in PARAMETERS:
        assert values[spec.name] == spec.default, spec.name
        assert type(values[spec.name]) is type(spec.default), f"{spec.name}: ROS would reject the type"


def test_parameter_file_comments_every_parameter():
    lines = PARAMS_FILE.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^ {4}\w+:", line):
            assert lines[i - 1].strip().startswith("#"), f"no comment above {line.strip()}"


def test_parameter_descriptors():
    descriptors = {spec.name: descriptor(spec) for spec in PARAMETERS}
    assert all(d.description for d in descriptors.values())
    read_only = {name for name, d in descriptors.items() if d.read_only}
    assert {"model_path", "backend", "device", "precision", "input_topics"} <= read_only
    assert not {"score_threshold", "overlap_policy", "colored_alpha"} & read_only
    threshold = descriptors["score_threshold"].floating_point_range[0]
    assert (threshold.from_value, threshold.to_value) == (0.0, 1.0)
    detections = descriptors["max_detections"].integer_range[0]
    assert (detections.from_value, detections.to_value) == (1, 999)
    assert "closest_center" in descriptors["overlap_policy"].additional_constraints


def test_rviz_config_shows_input_colored_and_semantic():
    config = yaml.safe_load(RVIZ_FILE.read_text())
    displays = config["Visualization Manager"]["Displays"]
    topics = {d["Topic"]["Value"] for d in displays if d["Class"] == "rviz_default_plugins/Image"}
    assert topics == {"image", "panoptic/colored", "panoptic/semantic"}
    outputs = {f"{node.output_prefix('image')}/{name}" for name in (*ID_IMAGES, "colored")}
    assert topics - {"image"} <= outputs
