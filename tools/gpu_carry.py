# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Prepare what the GPU check carries to the GPU machine, under the ignored folder ``.gpu_check/``.

``python tools/gpu_carry.py`` (run here, where PyPI is reachable, with the pinned ``.venv``):

- downloads the cp312 / manylinux x86-64 wheels the node benchmark (step 6) needs there into
  ``.whl/gpu_check``: the ``ros-*`` and ``rosbags`` pins of ``requirements/dev.txt`` and
  ``requirements/kilted.txt`` and their dependencies, each dependency at the version installed
  here; a package the GPU machine already has (``tools/gpu_machine_packages.txt``) is never
  carried;
- packs them, unchanged, into ``.gpu_check/wheels.tar.xz``: the ROS wheels hold each shared
  library three times (``libx.so``, ``.so.3``, ``.so.3.2``), which a 64 MiB xz window stores once,
  halving what travels;
- copies the two COCO sample photos into ``.gpu_check/coco`` (step 5 compares outputs on them);
- lists every carried file with its size and adds the working tree that travels with it (tracked
  and untracked-not-ignored files); it exits with 1 when the total exceeds the 64 MiB limit.

``--no-ros`` carries the photos only (the check then reports step 6 as not run). The manifest
``.gpu_check/manifest.json`` records the wheels, for the check's report.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CARRY_DIR = REPO / ".gpu_check"
DOWNLOADS = REPO / ".whl" / "gpu_check"  # ignored, and not carried
WHEELS_ARCHIVE = CARRY_DIR / "wheels.tar.xz"
PHOTOS = CARRY_DIR / "coco"
MANIFEST = CARRY_DIR / "manifest.json"
COCO_IMAGES = REPO.parent / "shared" / "data" / "coco_panoptic_sample" / "images"
ON_MACHINE = Path(__file__).resolve().parent / "gpu_machine_packages.txt"
# Needed only to generate message code when building ROS packages (rosidl_adapter's templates),
# never at run time, and published as a source archive only: not carried.
BUILD_ONLY = {"empy"}
LIMIT_BYTES = 64 * 2**20  # the working tree that travels, carried folders included
# The GPU machine: CPython 3.12 on x86-64 Linux. pip matches each platform tag exactly; these are
# the ones its documentation names (glibc 2.28 and older), which every wheel carried here has.
TARGET_PYTHON = "3.12"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")
MARKER_ENV = {
    "python_version": TARGET_PYTHON,
    "python_full_version": f"{TARGET_PYTHON}.3",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "extra": "",
}


def canonical(name: str) -> str:
    """Return a distribution name normalised as PEP 503 does (``ruamel.yaml`` -> ``ruamel-yaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_names(path: Path) -> set[str]:
    """Return the canonical names listed one a line in ``path`` (``#`` comments ignored)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {canonical(line) for line in lines if line}


def node_pins(requirements: tuple[Path, ...] = (REPO / "requirements" / "dev.txt",
                                               REPO / "requirements" / "kilted.txt")) -> list[str]:
    """Return the ``name==version`` pins of the ROS wheels and rosbags in the ``requirements`` files."""
    pins = []
    for line in "\n".join(path.read_text() for path in requirements).splitlines():
        line = line.split("#", 1)[0].strip()
        if line and (line.startswith("ros-") or canonical(line.split("==")[0]) == "rosbags"):
            pins.append(line)
    return pins


def wheel_requirements(wheel: Path) -> list:
    """Return the ``Requires-Dist`` entries of a wheel that apply on the GPU machine (no extras)."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        lines = archive.read(metadata).decode().splitlines()
    requirements = [
        Requirement(line.split(":", 1)[1].strip()) for line in lines if line.startswith("Requires-Dist:")
    ]
    return [r for r in requirements if r.marker is None or r.marker.evaluate(MARKER_ENV)]


def wheel_name(wheel: Path) -> tuple[str, str]:
    """Return a wheel file's (canonical distribution name, version)."""
    name, version = wheel.name.split("-")[:2]
    return canonical(name), version


def pin(requirement) -> str:
    """Pin a dependency to the version installed here when it satisfies the requirement."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        return f"{requirement.name}{requirement.specifier}"
    if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
        return f"{requirement.name}{requirement.specifier}"
    return f"{requirement.name}=={installed}"


def download(specs: list[str], folder: Path) -> None:
    """Download the cp312 x86-64 wheels of ``specs`` (no dependencies) into ``folder``."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-q",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        TARGET_PYTHON,
        "--implementation",
        "cp",
        *platforms,
        "-d",
        str(folder),
        *specs,
    ]
    subprocess.run(command, check=True)


def closure(roots: list[str], folder: Path, on_machine: set[str]) -> list[Path]:
    """Download ``roots`` and, level by level, every dependency the GPU machine lacks; return the wheels."""
    from packaging.requirements import Requirement

    folder.mkdir(parents=True, exist_ok=True)
    wanted = {canonical(Requirement(r).name): r for r in roots}
    done: dict[str, Path] = {}
    pending = list(wanted.values())
    while pending:
        download(pending, folder)
        pending = []
        for wheel in sorted(folder.glob("*.whl")):
            name, _ = wheel_name(wheel)
            if name not in wanted or name in done:
                continue
            done[name] = wheel
            for requirement in wheel_requirements(wheel):
                dependency = canonical(requirement.name)
                if dependency not in on_machine | BUILD_ONLY and dependency not in wanted:
                    wanted[dependency] = pin(requirement)
                    pending.append(wanted[dependency])
    for wheel in folder.glob("*.whl"):  # left by an earlier run with other pins
        if done.get(wheel_name(wheel)[0]) != wheel:
            wheel.unlink()
    return sorted(done.values())


def travelling_tree_bytes(repo: Path = REPO) -> int:
    """Bytes of the tracked and untracked-not-ignored files: what travels besides the carried folders."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        check=True,
        capture_output=True,
    ).stdout.decode()
    files = (repo / name for name in listing.split("\0") if name)
    return sum(f.stat().st_size for f in files if f.is_file())


def copy_photos(source: Path = COCO_IMAGES, target: Path = PHOTOS) -> list[Path]:
    """Copy the COCO sample photos (JPEG) into ``target``; return them."""
    photos = sorted(source.glob("*.jpg"))
    if not photos:
        raise FileNotFoundError(f"no COCO sample photos in {source}")
    target.mkdir(parents=True, exist_ok=True)
    copies = []
    for photo in photos:  # a plain copy: the shared sample is read-only, its copies need not be
        (target / photo.name).unlink(missing_ok=True)
        copies.append(Path(shutil.copyfile(photo, target / photo.name)))
    return copies


def pack(wheels: list[Path], archive: Path = WHEELS_ARCHIVE) -> Path:
    """Pack ``wheels`` into an xz tar archive whose 64 MiB window spans each repeated library."""
    import lzma

    archive.parent.mkdir(parents=True, exist_ok=True)
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": 64 * 2**20}]
    partial = archive.with_suffix(".partial")
    with lzma.open(partial, "wb", format=lzma.FORMAT_XZ, filters=filters) as stream:
        with tarfile.open(fileobj=stream, mode="w") as tar:
            for wheel in wheels:
                tar.add(wheel, arcname=wheel.name)
    return partial.replace(archive)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ros", action="store_true", help="carry no wheels: the check skips step 6")
    args = parser.parse_args(argv)
    wheels = [] if args.no_ros else closure(node_pins(), DOWNLOADS, read_names(ON_MACHINE))
    WHEELS_ARCHIVE.unlink(missing_ok=True)
    carried = [pack(wheels)] if wheels else []
    carried += copy_photos()
    MANIFEST.write_text(
        json.dumps(
            {
                "wheels": [
                    {
                        "name": wheel_name(p)[0],
                        "version": wheel_name(p)[1],
                        "file": p.name,
                        "bytes": p.stat().st_size,
                    }
                    for p in wheels
                ],
                "archive_bytes": WHEELS_ARCHIVE.stat().st_size if wheels else 0,
            },
            indent=1,
        )
    )
    carried.append(MANIFEST)
    for wheel in wheels:
        print(f"{wheel.stat().st_size / 2**20:8.2f} MiB  {wheel.name}")
    print(f"{sum(w.stat().st_size for w in wheels) / 2**20:8.2f} MiB  {len(wheels)} wheels, packed into:")
    for path in carried:
        print(f"{path.stat().st_size / 2**20:8.2f} MiB  {path.relative_to(REPO)}")
    tree = travelling_tree_bytes()
    total = tree + sum(p.stat().st_size for p in carried)
    print(f"{tree / 2**20:8.2f} MiB  working tree (tracked and untracked-not-ignored files)")
    print(f"{total / 2**20:8.2f} MiB  in all, limit {LIMIT_BYTES / 2**20:.0f} MiB")
    if total > LIMIT_BYTES:
        print(
            f"over the limit by {(total - LIMIT_BYTES) / 2**20:.2f} MiB: the check cannot travel like this"
            + ("" if args.no_ros else " (--no-ros leaves the ROS wheels behind)")
        )
        return 1
    print(f"fits, {(LIMIT_BYTES - total) / 2**20:.2f} MiB to spare: run the check with carry ['.gpu_check']")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
