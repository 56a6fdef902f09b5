# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The prepared GPU check: every GPU claim of the README measured in one run of at most 8 minutes.

``bash tools/gpu_check.sh`` (or ``make gpu-check``) on the GPU machine, from the repository root,
with ``.gpu_check/`` carried (``tools/gpu_carry.py`` prepares it here). The steps, each a process
of its own with its own time limit, in order of value (a later one is left out when the budget
is spent; a failure stops nothing):

0. carry: install the carried wheels with ``pip --no-index --no-deps --prefix``;
1. env: GPU, driver, CUDA, torch, torchvision, numpy and the other versions;
2. cuda-tests: the test suite's ``cuda``-marked tests with that machine's packages;
3. engine-*: ``sspanoptic-bench engine``, the paper's ResNet-50 at 576x864 (fp32 / fp16, eager,
   ``--cuda-graphs``, ``--compile``, eager ones with torchvision's RetinaNet-R50) and the demo
   model at 480x640;
4. head-*: ``sspanoptic-bench head`` on CUDA at 576x864, 10 and 100 detections, fp32 and fp16;
5. agreement: fp16 and CUDA-graph outputs against fp32 eager on the COCO photos
   (``sspanoptic-bench agreement``);
6. bag: the node on the demo bag (``sspanoptic-bench bag run``), when ROS 2 can be imported.

``gpu_check.md`` (the report), ``gpu_check.json`` (every step's raw results) and ``gpu_check.log``
(every step's output) go to ``$OUT`` if set, else ``out/gpu_check/``; they are rewritten after
each step, so a run cut short still leaves its report. ``--dry-run`` runs the same steps on the
CPU with a small model and image, a few runs and nothing carried; the steps that need CUDA are
reported as skipped (``test/test_gpu_check.py`` runs it in ``make test``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from statistics import median

from gpu_carry import COCO_IMAGES, MANIFEST, PHOTOS, REPO, WHEELS_ARCHIVE

sys.path.insert(0, str(REPO))  # the package's pure-Python statistics; the steps import the rest
from sspanoptic_ros.bench.stats import percentile  # noqa: E402

BUDGET_S = 470.0  # the whole check, carry included: 8 minutes less a margin for the report
REPORT_RESERVE_S = 5.0  # kept back from the last step for writing the report
LOG_TAIL_CHARS = 4000  # of a failed step's output, in the report
LOG_STEP_CHARS = 400_000  # of each step's output, in gpu_check.log (a file comes back if < 16 MiB)
STAGES = ("preprocess", "network", "decode", "head", "total")
MODES = {"eager": [], "graphs": ["--cuda-graphs"], "compile": ["--compile"]}


@dataclass(frozen=True)
class Sizes:
    """What differs between the check on the GPU and the dry run on the CPU."""

    device: str
    paper_model: str  # a config name: random weights
    paper_size: tuple[int, int]
    demo_size: tuple[int, int]
    runs: int
    head_size: tuple[int, int]
    detections: tuple[int, ...]
    variants: tuple[str, ...]  # of sspanoptic-bench agreement
    photos: int
    synthetic: int
    bag_frames: int
    bag_size: tuple[int, int]
    bag_rates: tuple[float, ...]
    bag_seconds: float
    peak_trials: int
    engine_seconds: float


GPU = Sizes(
    device="cuda", paper_model="resnet50_fpn_coco", paper_size=(576, 864), demo_size=(480, 640),
    runs=100, head_size=(576, 864), detections=(10, 100),
    variants=("torch-fp16", "torch-fp32-graphs", "torch-fp16-graphs"), photos=2, synthetic=2,
    bag_frames=60, bag_size=(256, 384), bag_rates=(10.0, 30.0), bag_seconds=5.0, peak_trials=4,
    engine_seconds=5.0,
)
# On the CPU the demo config (random weights) stands in for the paper's model, and ONNX Runtime
# for the variants that need CUDA.
DRY = Sizes(
    device="cpu", paper_model="demo_synthetic", paper_size=(96, 128), demo_size=(96, 128), runs=2,
    head_size=(128, 128), detections=(3, 10), variants=("onnxruntime-fp32",), photos=1, synthetic=1,
    bag_frames=12, bag_size=(64, 96), bag_rates=(5.0,), bag_seconds=1.5, peak_trials=1,
    engine_seconds=1.0,
)


@dataclass
class Step:
    """One step: its commands (run in order until one fails), time limit and raw result file."""

    name: str  # its group (report section) up to the first "-"
    title: str
    commands: list[list[str]]
    limit_s: float
    min_s: float = 20.0  # not started with less of the budget left
    json: Path | None = None
    skip: str | None = None  # why it does not run at all
    info: dict = field(default_factory=dict)  # what the report needs to know of it
    env: dict | None = None  # its own environment (else the check's)


def bench(*args) -> list[str]:
    """Return the command line of ``sspanoptic-bench ARGS``."""
    return [sys.executable, "-m", "sspanoptic_ros.bench.cli", *map(str, args)]


def engine_step(
    work: Path, sizes: Sizes, name: str, model: str, size: tuple[int, int], precision: str, mode: str,
    retinanet: bool = False, limit_s: float = 120.0,
) -> Step:
    """Return a ``sspanoptic-bench engine`` step on the torch backend."""
    out = work / f"{name}.json"
    command = bench("engine", "--model", model, "--backends", "torch", "--device", sizes.device,
                    "--precision", precision, "--size", *size, "--runs", sizes.runs, "--json", out,
                    *MODES[mode], *(["--retinanet"] if retinanet else []))
    skip = None
    if sizes is DRY and mode == "compile":
        skip = "torch.compile takes minutes on 2 CPU cores"
    elif sizes is DRY and (precision == "fp16" or mode == "graphs"):
        skip = "fp16 and CUDA graphs need CUDA"
    title = f"engine: {Path(model).name}, {size[0]}x{size[1]}, {precision} {mode}"
    return Step(name, title + (", RetinaNet" if retinanet else ""), [command], limit_s,
                min_s=25.0 if mode == "eager" else 60.0, json=out, skip=skip, info={"mode": mode})


def cuda_test_files() -> list[Path]:
    """Return the test files that hold ``cuda``-marked tests."""
    return [p for p in sorted((REPO / "test").glob("test_*.py")) if "pytest.mark.cuda" in p.read_text()]


def import_error(modules: str, env: dict) -> str | None:
    """Return why ``import MODULES`` fails in a fresh process with ``env``, or None when it works."""
    try:
        done = subprocess.run([sys.executable, "-c", f"import {modules}"], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "the import took over 60 s"
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]


def photos(count: int) -> list[Path]:
    """Return up to ``count`` COCO sample photos: the carried ones, else the shared sample's."""
    for folder in (PHOTOS, COCO_IMAGES):
        found = sorted(folder.glob("*.jpg"))
        if found:
            return found[:count]
    return []


def plan(sizes: Sizes, work: Path, env: dict, ros_env: dict) -> list[Step]:
    """Return the steps in the order they run: most valuable first, the slow compiles last.

    ``ros_env`` is the environment of the node benchmark (with the carried ROS 2, if any).
    """
    paper, demo = sizes.paper_model, str(REPO / "models" / "demo_synthetic.pt")
    tests, junit = cuda_test_files(), work / "cuda_tests.xml"
    timeout = ["--timeout", "150"] if import_error("pytest_timeout", env) is None else []
    steps = [
        Step("env", "environment", [[sys.executable, __file__, "env", "--json", str(work / "env.json")]],
             60.0, min_s=10.0, json=work / "env.json"),
        Step("cuda-tests", "the test suite's CUDA tests (pytest -m cuda)",
             [[sys.executable, "-m", "pytest", "-q", "-rs", "-m", "cuda", "-p", "no:cacheprovider", *timeout,
               "--junitxml", str(junit), *map(str, tests)]],
             180.0, min_s=30.0, info={"junit": junit}),
        engine_step(work, sizes, "engine-paper-fp32-eager", paper, sizes.paper_size, "fp32", "eager", True),
        engine_step(work, sizes, "engine-paper-fp16-eager", paper, sizes.paper_size, "fp16", "eager", True),
        engine_step(work, sizes, "engine-paper-fp16-graphs", paper, sizes.paper_size, "fp16", "graphs",
                    limit_s=180.0),
    ]
    for precision in ("fp32", "fp16"):
        out = work / f"head-{precision}.json"
        steps.append(Step(
            f"head-{precision}", f"panoptic head on {sizes.device}, {precision}",
            [bench("head", "--device", sizes.device, "--precision", precision, "--height", sizes.head_size[0],
                   "--width", sizes.head_size[1], "--detections", *sizes.detections,
                   "--repeats", max(sizes.runs // 2, 2), "--json", out)],
            90.0, json=out, skip="fp16 needs CUDA" if sizes is DRY and precision == "fp16" else None,
        ))
    steps += [
        engine_step(work, sizes, "engine-demo-fp32-eager", demo, sizes.demo_size, "fp32", "eager"),
        engine_step(work, sizes, "engine-demo-fp16-eager", demo, sizes.demo_size, "fp16", "eager"),
        engine_step(work, sizes, "engine-demo-fp16-graphs", demo, sizes.demo_size, "fp16", "graphs"),
    ]
    steps.append(Step(
        "agreement", "outputs against fp32 eager (demo model)",
        [bench("agreement", "--model", demo, "--device", sizes.device, "--variants", *sizes.variants,
               "--images", *photos(sizes.photos), "--synthetic", sizes.synthetic,
               "--json", work / "agreement.json")],
        180.0, min_s=45.0, json=work / "agreement.json",
    ))
    bag, bag_out = work / "demo_bag", work / "bag_run"
    ros_missing = import_error("rclpy, rosbags", ros_env)
    steps.append(Step(
        "bag", "the node on the demo bag (torch backend)",
        [bench("bag", "create", bag, "--synthetic", sizes.bag_frames, "--size", *sizes.bag_size,
               "--seed", 0, "--rate", 10),
         bench("bag", "run", bag, "--model", demo, "--backend", "torch", "--device", sizes.device,
               "--rates", *sizes.bag_rates, "--seconds", sizes.bag_seconds,
               "--peak-trials", sizes.peak_trials, "--peak-seconds", sizes.bag_seconds,
               "--engine-seconds", sizes.engine_seconds, "--ready-timeout", 120, "--out", bag_out)],
        150.0, min_s=45.0, json=bag_out / "report.json",
        skip=ros_missing and f"ROS 2 cannot be imported ({ros_missing[:200]}): tools/gpu_carry.py carries it",
        env=ros_env,
    ))
    for precision, mode in (("fp16", "compile"), ("fp32", "graphs"), ("fp32", "compile")):
        steps.append(engine_step(work, sizes, f"engine-paper-{precision}-{mode}", paper, sizes.paper_size,
                                 precision, mode, limit_s=180.0))
    return steps


def stop_group(process: subprocess.Popen) -> None:
    """End a step's process group (its children too, e.g. the node): SIGTERM, SIGKILL after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(5.0)
            return
        except subprocess.TimeoutExpired:
            continue


def run_step(step: Step, env: dict, deadline: float, work: Path) -> dict:
    """Run one step within its limit and what is left of the budget; return its result."""
    result = {"name": step.name, "title": step.title, "limit_s": step.limit_s, "seconds": 0.0,
              "commands": [" ".join(map(str, c)) for c in step.commands], "log": "", "data": None,
              "info": {k: v for k, v in step.info.items() if k != "junit"}}
    if step.skip:
        return {**result, "status": "skipped", "reason": step.skip}
    left = deadline - time.monotonic() - REPORT_RESERVE_S
    if left < step.min_s:
        return {**result, "status": "not run",
                "reason": f"{max(left, 0):.0f} s of the budget left, it needs at least {step.min_s:.0f} s"}
    limit, start = min(step.limit_s, left), time.monotonic()
    status, reason = "passed", ""
    log_path = work / f"{step.name}.log"
    with log_path.open("w") as log:
        for command in step.commands:
            log.write(f"$ {' '.join(map(str, command))}\n")
            log.flush()
            process = subprocess.Popen(list(map(str, command)), stdout=log, stderr=subprocess.STDOUT,
                                       env=step.env or env, cwd=REPO, start_new_session=True)
            try:
                code = process.wait(max(limit - (time.monotonic() - start), 1.0))
            except subprocess.TimeoutExpired:
                stop_group(process)
                status, reason = "timeout", f"stopped at its limit of {limit:.0f} s"
                break
            if code != 0:
                status, reason = "failed", f"exit code {code}"
                break
    result.update(status=status, reason=reason, seconds=time.monotonic() - start,
                  log=log_path.read_text(errors="replace")[-LOG_STEP_CHARS:])
    try:
        if step.json is not None and step.json.is_file():
            result["data"] = json.loads(step.json.read_text())
        if "junit" in step.info and step.info["junit"].is_file():
            result["data"] = junit_summary(step.info["junit"])
    except (ValueError, ElementTree.ParseError) as e:
        result.update(status="failed", reason=f"{reason}; its results are unreadable: {e}".lstrip("; "))
    if result["status"] == "passed" and result["data"] is None and (step.json or "junit" in step.info):
        result.update(status="failed", reason="it wrote no results")
    return result


def junit_summary(path: Path) -> dict:
    """Return each test case's outcome (passed, failure, error, skipped) and message from a JUnit file."""
    cases = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome, message = child.tag, (child.get("message") or "").partition("\n")[0]
        cases.append({"test": f"{case.get('classname')}::{case.get('name')}", "outcome": outcome,
                      "seconds": float(case.get("time") or 0), "message": message})
    return {"cases": cases}


def install_carried(work: Path, env: dict) -> tuple[dict, dict]:
    """Unpack ``.gpu_check/wheels.tar.xz`` and install its wheels; return the result and their environment.

    ``pip install --no-index --no-deps --prefix work/ros``: the ROS wheels keep their Python
    packages and libraries in the wheel's data folder, which ``--target`` drops. Their environment
    is ``env`` with the prefix's site-packages on PYTHONPATH and its libraries on LD_LIBRARY_PATH
    (what the ROS wheels' own start-up hook does inside a virtual environment); only the steps
    that need them run with it.
    """
    result = {"name": "carry", "title": "install the carried wheels", "limit_s": 120.0, "seconds": 0.0,
              "commands": [], "log": "", "data": None, "info": {}}
    if not WHEELS_ARCHIVE.is_file():
        return {**result, "status": "skipped",
                "reason": f"no {WHEELS_ARCHIVE.relative_to(REPO)} carried (tools/gpu_carry.py makes it)"}, env
    start = time.monotonic()
    wheels, prefix = work / "wheels", work / "ros"
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
               "--no-cache-dir", "--ignore-installed", "--prefix", str(prefix)]
    result["commands"] = [" ".join(command) + " <the carried wheels>"]
    try:
        with tarfile.open(WHEELS_ARCHIVE) as archive:
            archive.extractall(wheels, filter="data")
        done = subprocess.run(command + sorted(map(str, wheels.glob("*.whl"))), capture_output=True,
                              text=True, timeout=result["limit_s"])
    except (tarfile.TarError, OSError, EOFError, subprocess.TimeoutExpired) as e:
        return {**result, "status": "failed", "reason": f"{type(e).__name__}: {e}",
                "seconds": time.monotonic() - start}, env
    result.update(log=done.stdout + done.stderr, seconds=time.monotonic() - start)
    site = next(prefix.glob("lib/python*/site-packages"), None)
    if done.returncode != 0 or site is None:
        return {**result, "status": "failed", "reason": f"pip exit code {done.returncode}"}, env
    libraries = [prefix / "lib", *sorted(site.glob("*.libs"))]
    libraries += env.get("LD_LIBRARY_PATH", "").split(os.pathsep)
    carried_env = {
        **env, "PYTHONPATH": os.pathsep.join([env["PYTHONPATH"], str(site)]),
        "LD_LIBRARY_PATH": os.pathsep.join(str(p) for p in libraries if str(p)),
        "_ROS_WHEELS_BOOTSTRAP_COMPLETE": "1",  # else the hook would run Python again with its own path
    }
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}
    wheels = {"wheels": manifest.get("wheels", [])}
    return {**result, "status": "passed", "reason": "", "data": wheels}, carried_env


def environment() -> dict:
    """Describe the machine: GPU, driver, CUDA and the versions of the packages the check uses."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    info: dict = {"python": platform.python_version(), "platform": platform.platform(),
                  "cpus": os.cpu_count()}
    query = "name,driver_version,memory.total,compute_cap,clocks.max.sm,power.limit"
    try:
        smi = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        info["nvidia-smi " + query] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        info["nvidia-smi"] = f"unavailable: {e}"
    import torch

    info["torch"], info["torch CUDA"] = torch.__version__, torch.version.cuda
    info["cuDNN"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    info["CUDA available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_properties(0)
        info.update({"gpu": gpu.name, "GPU memory MiB": gpu.total_memory // 2**20,
                     "compute capability": f"{gpu.major}.{gpu.minor}"})
    for name in ("torchvision", "numpy", "onnx", "onnxruntime", "opencv-python-headless", "triton", "pytest",
                 "ros-rclpy", "rosbags"):
        try:
            info[name] = version(name)
        except PackageNotFoundError:
            info[name] = "not installed"
    return info


# ---------------------------------------------------------------------------------------- report


def _ms(times: list[float]) -> str:
    return f"{median(times):.2f} / {percentile(times, 99):.2f}"


def env_section(results: list[dict]) -> list[str]:
    """Return the environment as a two-column table."""
    return ["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in results[0]["data"].items())]


def tests_section(results: list[dict]) -> list[str]:
    """Return the counts and one line per CUDA test."""
    cases = results[0]["data"]["cases"]
    counts = {o: sum(c["outcome"] == o for c in cases) for o in ("passed", "failure", "error", "skipped")}
    lines = [", ".join(f"{n} {o}" for o, n in counts.items() if n) or "no test ran", ""]
    return lines + [f"- {c['outcome']}: `{c['test']}` ({c['seconds']:.1f} s) {c['message']}".rstrip()
                    for c in cases]


def engine_section(results: list[dict]) -> list[str]:
    """Return one table row per engine step that produced figures."""
    lines = ["| model | camera image | precision | mode | FPS | " + " | ".join(f"{s} ms" for s in STAGES)
             + " | peak memory MiB | RetinaNet ms | panoptic / RetinaNet |", "|" + " --- |" * 13]
    for r in results:
        data, retina = r["data"], r["data"].get("retinanet")
        for row in data["rows"]:
            cells = [Path(data["model"]).name, f"{data['size'][0]}x{data['size'][1]}", data["precision"],
                     r["info"]["mode"], f"{row['fps']:.1f}", *(_ms(row["times_ms"][s]) for s in STAGES),
                     f"{row['peak_memory_mib']:.0f} ({row['memory_kind']})",
                     _ms(retina["times_ms"]) if retina else "-", f"{retina['ratio']:.2f}" if retina else "-"]
            lines.append("| " + " | ".join(cells) + " |")
    return lines + ["", "Times: median / p99 over the runs after 3 warm-up runs. RetinaNet-R50 runs eager in "
                    "the row's precision; the ratio divides the row's total time by it (target <= 1.3)."]


def head_section(results: list[dict]) -> list[str]:
    """Return the head's times per precision and detection count, beside the network's."""
    lines = ["| precision | image | detections | head ms median / p99 | network ms median / p99 "
             "| head / network |",
             "|" + " --- |" * 6]
    for r in results:
        data, network = r["data"], r["data"]["network_ms"]
        for n, times in data["head_ms"].items():
            share = f"{median(times) / median(network):.3f}" if network else "-"
            lines.append(f"| {data['precision']} | {data['size'][0]}x{data['size'][1]} | {n} | {_ms(times)} "
                         f"| {_ms(network) if network else '-'} | {share} |")
    return lines + ["", "The network: the paper's ResNet-50 (random weights, eager) in the same precision."]


def printed_report(result: dict, starts: tuple[str, ...]) -> list[str]:
    """Return the lines of a step's output that begin with one of ``starts`` (the report it printed).

    Table rows stay together; every other line becomes a paragraph of its own.
    """
    lines: list[str] = []
    for line in result["log"].splitlines():
        if line.startswith(starts):
            if lines and not (line.startswith("|") and lines[-1].startswith("|")):
                lines.append("")
            lines.append(line)
    return lines


def agreement_section(results: list[dict]) -> list[str]:
    """Return the comparison table and the worst case per variant, as the step printed them."""
    model = Path(results[0]["data"]["model"]).name
    return [f"Model `{model}`, reference torch fp32 eager.", "", *printed_report(results[0], ("|", "worst "))]


def bag_section(results: list[dict]) -> list[str]:
    """Return the bag benchmark's report (table, peak, node / engine FPS), as the step printed it."""
    return printed_report(results[0], ("|", "bag ", "engine only", "keeps up", "peak ", "node "))


# Report sections: title, step group (a step's name up to its first "-"), section of those steps.
SECTIONS = (
    ("Environment", "env", env_section),
    ("CUDA tests", "cuda", tests_section),
    ("Engine: sspanoptic-bench engine (torch backend)", "engine", engine_section),
    ("Panoptic head: sspanoptic-bench head", "head", head_section),
    ("Agreement with fp32 eager: sspanoptic-bench agreement", "agreement", agreement_section),
    ("Node with the demo bag: sspanoptic-bench bag run", "bag", bag_section),
)


def render(results: list[dict], dry: bool, started: datetime, elapsed: float, budget: float) -> str:
    """Render the Markdown report of the steps so far."""
    env = next((r["data"] for r in results if r["name"] == "env" and r["data"]), {})
    machine = "dry run on the CPU" if dry else env.get("gpu", "no GPU seen")
    lines = [f"# GPU check: {machine}, {started:%Y-%m-%d %H:%M} UTC", "",
             f"`bash tools/gpu_check.sh{' --dry-run' if dry else ''}`: {elapsed:.0f} s of the {budget:.0f} s "
             "budget.", "", "| step | status | seconds | limit s | note |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['name']}: {r['title']} | {r['status']} | {r['seconds']:.1f} | {r['limit_s']:.0f} "
              f"| {r.get('reason', '')} |" for r in results]
    for title, group, section in SECTIONS:
        done = [r for r in results if r["data"] is not None and r["name"].split("-")[0] == group]
        if done:
            try:
                lines += ["", f"## {title}", "", *section(done)]
            except (KeyError, TypeError, ValueError, IndexError) as e:  # results of an unexpected shape
                lines += [f"(this section could not be written: {type(e).__name__}: {e}; see gpu_check.json)"]
    carried = next((r["data"] for r in results if r["name"] == "carry" and r["data"]), None)
    if carried:
        size = sum(w["bytes"] for w in carried["wheels"]) / 2**20
        lines += ["", f"Carried and installed: {len(carried['wheels'])} wheels, {size:.1f} MiB."]
    for r in results:
        if r["status"] in ("failed", "timeout"):
            lines += ["", f"## {r['name']} {r['status']}: {r['reason']}", "", "```",
                      r["log"][-LOG_TAIL_CHARS:].rstrip(), "```"]
    return "\n".join(lines) + "\n"


def write_outputs(out: Path, results: list[dict], dry: bool, started: datetime, elapsed: float,
                  budget: float) -> None:
    """Write gpu_check.md, gpu_check.json and gpu_check.log into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.md").write_text(render(results, dry, started, elapsed, budget))
    raw = {"started": started.isoformat(), "dry_run": dry, "seconds": elapsed, "budget_s": budget,
           "steps": [{k: v for k, v in r.items() if k != "log"} for r in results]}
    (out / "gpu_check.json").write_text(json.dumps(raw, indent=1))
    (out / "gpu_check.log").write_text(
        "".join(f"===== {r['name']}: {r['status']} {r.get('reason', '')}\n{r['log']}\n" for r in results))


def run_check(dry: bool, out: Path, budget: float, only: list[str] | None) -> int:
    """Run every step (or those named in ``only``); return 1 if one failed or timed out, else 0."""
    started, start = datetime.now(timezone.utc), time.monotonic()
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    if dry:
        env.setdefault("OMP_NUM_THREADS", "1")  # the 2 shared cores of the development machines
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        work = Path(tmp)
        env["SSPANOPTIC_CACHE"] = str(work / "cache")  # the check's exports stay out of the user's cache
        results: list[dict] = []

        def record(result: dict) -> None:
            results.append(result)
            print(f"{result['name']:28s} {result['status']:8s} {result['seconds']:6.1f} s  "
                  f"{result.get('reason', '')}", flush=True)
            write_outputs(out, results, dry, started, time.monotonic() - start, budget)

        ros_env = env
        if not dry:
            carried, ros_env = install_carried(work, env)
            record(carried)
        for step in plan(DRY if dry else GPU, work, env, ros_env):
            if only and step.name not in only:
                continue
            try:
                record(run_step(step, env, start + budget, work))
            except Exception:  # a fault of the check itself: reported, and the next step runs
                record({"name": step.name, "title": step.title, "limit_s": step.limit_s, "seconds": 0.0,
                        "commands": [], "log": traceback.format_exc(), "data": None, "info": {},
                        "status": "failed", "reason": "the check's own error (see the log)"})
    write_outputs(out, results, dry, started, time.monotonic() - start, budget)
    print(f"report: {out / 'gpu_check.md'} ({time.monotonic() - start:.0f} s)")
    return int(any(r["status"] in ("failed", "timeout") for r in results))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="on the CPU: small sizes, few runs, no carry")
    parser.add_argument("--out", type=Path, help="report folder (default: $OUT, else out/gpu_check)")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for the whole check")
    parser.add_argument("--only", nargs="+", metavar="STEP", help="run only these steps (names as reported)")
    sub = parser.add_subparsers(dest="command")
    env = sub.add_parser("env", help="print the environment as JSON (the env step)")
    env.add_argument("--json", type=Path, help="also write it here")
    args = parser.parse_args(argv)
    if args.command == "env":
        info = json.dumps(environment(), indent=1)
        print(info)
        if args.json:
            args.json.write_text(info)
        return 0
    out = args.out or Path(os.environ.get("OUT") or REPO / "out" / "gpu_check")
    return run_check(args.dry_run, out, args.budget, args.only)


if __name__ == "__main__":
    raise SystemExit(main())
