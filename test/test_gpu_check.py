# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The prepared GPU check (tools/gpu_check.sh): its dry run on the CPU, its step runner, the carry.

The dry run is the real script with small sizes: every step that can run on the CPU runs (the
benchmarks, the agreement check, the node on a bag), and the raw results it reports are checked.
"""

import json
import os
import subprocess
import sys
import time
import zipfile

import pytest
import torch
from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import gpu_carry  # noqa: E402
import gpu_check  # noqa: E402

RUN_ON_CPU = {
    "env", "cuda-tests", "engine-paper-fp32-eager", "head-fp32", "engine-demo-fp32-eager", "agreement", "bag",
}


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    done = subprocess.run(["bash", str(REPO / "tools" / "gpu_check.sh"), "--dry-run", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    print(f"dry run: {time.monotonic() - start:.0f} s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    return out, {s["name"]: s for s in report["steps"]}, report


def test_dry_run_runs_every_cpu_step_and_skips_the_cuda_ones(dry_run):
    out, steps, report = dry_run
    assert report["dry_run"] and report["seconds"] < report["budget_s"]
    assert {n for n, s in steps.items() if s["status"] == "passed"} == RUN_ON_CPU
    for name, step in steps.items():
        if name not in RUN_ON_CPU:
            assert step["status"] == "skipped" and step["reason"], name
    assert {"engine-paper-fp16-graphs", "engine-paper-fp32-compile", "head-fp16"} <= set(steps)
    assert sorted(p.name for p in out.iterdir()) == ["gpu_check.json", "gpu_check.log", "gpu_check.md"]


def test_dry_run_reports_the_figures(dry_run):
    out, steps, _ = dry_run
    paper = steps["engine-paper-fp32-eager"]["data"]
    (row,) = paper["rows"]
    assert paper["model"] == "demo_synthetic" and row["device"] == "cpu"
    assert all(len(row["times_ms"][s]) == gpu_check.DRY.runs for s in gpu_check.STAGES) and row["fps"] > 0
    assert paper["retinanet"]["ratio"] > 0 and len(paper["retinanet"]["times_ms"]) == gpu_check.DRY.runs
    head = steps["head-fp32"]["data"]
    assert set(head["head_ms"]) == {str(n) for n in gpu_check.DRY.detections} and head["network_ms"]
    rows = steps["agreement"]["data"]["rows"]
    assert len(rows) == len(gpu_check.photos(gpu_check.DRY.photos)) + gpu_check.DRY.synthetic
    assert all(r["variant"] == "onnxruntime-fp32" and r["panoptic_agreement"] > 0.999 for r in rows)
    bag = steps["bag"]["data"]
    assert bag["engine"]["fps"] > 0 and bag["runs"] and "node_engine_ratio" in bag
    markdown = (out / "gpu_check.md").read_text()
    for title, _, _ in gpu_check.SECTIONS:
        assert f"## {title}" in markdown
    for words in ("dry run on the CPU", "| onnxruntime-fp32 |", "node / engine FPS"):
        assert words in markdown


def test_dry_run_collects_every_cuda_test(dry_run):
    _, steps, _ = dry_run
    cases = steps["cuda-tests"]["data"]["cases"]
    names = {c["test"].rsplit("::", 1)[1] for c in cases}
    assert {
        "test_cuda_graph_replays_match_eager_and_keep_earlier_outputs", "test_cuda_engine_gives_the_cpu_maps",
        "test_cuda_gives_the_cpu_maps",
    } <= names
    if not torch.cuda.is_available():
        assert {c["outcome"] for c in cases} == {"skipped"}


def _step(name, code, limit_s=30.0, **fields):
    return gpu_check.Step(name, name, [[sys.executable, "-c", code]], limit_s, min_s=1.0, **fields)


def test_steps_fail_time_out_and_skip_on_their_own(tmp_path):
    deadline = time.monotonic() + 60
    env = dict(os.environ)
    bad = _step("bad", "import sys; print('oops'); sys.exit(3)")
    failed = gpu_check.run_step(bad, env, deadline, tmp_path)
    assert (failed["status"], failed["reason"]) == ("failed", "exit code 3") and "oops" in failed["log"]
    skipped = gpu_check.run_step(_step("skip", "pass", skip="needs CUDA"), env, deadline, tmp_path)
    assert (skipped["status"], skipped["reason"]) == ("skipped", "needs CUDA")
    late = gpu_check.run_step(_step("late", "pass"), env, time.monotonic() + 3.0, tmp_path)
    assert late["status"] == "not run" and "budget" in late["reason"]
    ok = gpu_check.run_step(_step("ok", f"open({str(tmp_path / 'r.json')!r}, 'w').write('[1]')",
                                  json=tmp_path / "r.json"), env, deadline, tmp_path)
    assert ok["status"] == "passed" and ok["data"] == [1]
    silent = gpu_check.run_step(_step("silent", "pass", json=tmp_path / "none.json"), env, deadline, tmp_path)
    assert (silent["status"], silent["reason"]) == ("failed", "it wrote no results")


def test_a_step_over_its_limit_is_stopped_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    code = (f"import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', 'import time; "
            f"time.sleep(60)']); open({str(pid_file)!r}, 'w').write(str(child.pid)); time.sleep(60)")
    start = time.monotonic()
    result = gpu_check.run_step(_step("slow", code, limit_s=3.0), dict(os.environ), start + 60, tmp_path)
    assert result["status"] == "timeout" and time.monotonic() - start < 15
    child = int(pid_file.read_text())
    for _ in range(50):  # reaped by its parent's end or init
        if not os.path.exists(f"/proc/{child}") or "Z" in open(f"/proc/{child}/stat").read().split()[2]:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the step's child process is still running")


def _wheel(folder, name, version, requires=(), module="x = 1\n"):
    """Write a minimal pure-Python wheel of ``name`` holding one module."""
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    metadata = "\n".join(["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                          *(f"Requires-Dist: {r}" for r in requires)]) + "\n"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}.py", module)
        z.writestr(f"{info}/METADATA", metadata)
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return path


def test_carry_reads_dependencies_as_the_gpu_machine_s_python_would(tmp_path):
    zstd = 'backports.zstd; python_version < "3.14"'
    wheel = _wheel(tmp_path, "demo", "1.0", [zstd, "lz4", 'typing_extensions>=4.5; python_version < "3.12"',
                                             'ros-rmw-fastrtps-cpp~=9.3.3; extra == "fastrtps"'])
    assert [str(r) for r in gpu_carry.wheel_requirements(wheel)] == [zstd, "lz4"]
    assert gpu_carry.canonical("ruamel.yaml") == "ruamel-yaml"
    assert gpu_carry.wheel_name(wheel) == ("demo", "1.0")
    pins = gpu_carry.node_pins()
    assert "ros-rclpy==9.1.2" in pins and any(p.startswith("rosbags==") for p in pins)
    assert {"numpy", "torch", "pyyaml", "typing-extensions"} <= gpu_carry.read_names(gpu_carry.ON_MACHINE)


def test_carried_wheels_are_packed_and_installed_for_the_steps(tmp_path, monkeypatch):
    """What the GPU machine does with the archive: unpack, pip --no-index --no-deps, import in a step."""
    two = "import carried_one\nVALUE = carried_one.VALUE + 1\n"
    wheels = [_wheel(tmp_path, "carried_one", "0.1", module="VALUE = 41\n"),
              _wheel(tmp_path, "carried_two", "0.2", module=two)]
    archive = gpu_carry.pack(wheels, tmp_path / "carry" / "wheels.tar.xz")
    monkeypatch.setattr(gpu_check, "WHEELS_ARCHIVE", archive)
    monkeypatch.setattr(gpu_check, "MANIFEST", tmp_path / "none.json")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    work = tmp_path / "work"
    result, carried_env = gpu_check.install_carried(work, env)
    assert result["status"] == "passed", result["log"]
    done = subprocess.run([sys.executable, "-c", "import carried_two; print(carried_two.VALUE)"],
                          env=carried_env, capture_output=True, text=True)
    assert done.stdout.strip() == "42", done.stderr


def test_the_pack_stores_a_repeated_library_once(tmp_path):
    blob = os.urandom(2**20)  # incompressible, as a deflated library is
    for name in ("libx.so", "libx.so.3", "libx.so.3.2"):
        (tmp_path / name).write_bytes(blob)
    archive = gpu_carry.pack(sorted(tmp_path.glob("libx*")), tmp_path / "a.tar.xz")
    assert archive.stat().st_size < 1.1 * len(blob)


def test_the_travelling_tree_leaves_out_ignored_files(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("/ignored/\n")
    (tmp_path / "ignored").mkdir()
    (tmp_path / "ignored" / "big").write_bytes(b"x" * 5000)
    (tmp_path / "kept").write_bytes(b"y" * 300)
    assert gpu_carry.travelling_tree_bytes(tmp_path) == 300 + len("/ignored/\n")


def test_dry_run_uses_the_venv_python_without_being_told(tmp_path):
    """A developer runs ``bash tools/gpu_check.sh --dry-run`` with no venv activated."""
    if not (REPO / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv here (make setup builds it)")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3").write_text("#!/bin/sh\necho 'the system python3 has no torch' >&2\nexit 3\n")
    (fake / "python3").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}
    env["PATH"] = f"{fake}:{env['PATH']}"
    done = subprocess.run(["bash", str(REPO / "tools" / "gpu_check.sh"), "--dry-run", "--help"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "usage: gpu_check.py" in done.stdout, done.stdout + done.stderr
    done = subprocess.run(["bash", str(REPO / "tools" / "gpu_check.sh"), "--help"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr  # the GPU machine's own python3
