# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""ament_python package setup; also a plain `pip install -e .` outside colcon."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "sspanoptic_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.*")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.rviz")),
        (f"share/{PACKAGE}/models", glob("models/*.pt") + glob("models/*.yaml")),
    ],
    package_data={PACKAGE: ["configs/*.yaml", "configs/*.json"]},
    # Loose on purpose: robots bring their own torch / TensorRT / ROS 2.
    # The pinned development environment is requirements/dev.txt.
    install_requires=[
        "numpy",
        "pyyaml",
        "pillow",
        "opencv-python-headless",
        "scipy",
        "torch>=2.1",
        "torchvision>=0.16",
    ],
    extras_require={"onnx": ["onnx", "onnxruntime"], "bags": ["rosbags"], "eval": ["pycocotools"]},
    zip_safe=True,
    maintainer="sspanoptic_ros maintainers",
    maintainer_email="maintainers@sspanoptic-ros.dev",
    description="Real-time single-shot panoptic segmentation node for ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "panoptic_node = sspanoptic_ros.ros.panoptic_node:main",
            "sspanoptic-infer = sspanoptic_ros.infer:main",
            "sspanoptic-export = sspanoptic_ros.export.cli:main",
            "sspanoptic-train = sspanoptic_ros.train.cli:main",
            "sspanoptic-pq = sspanoptic_ros.evaluation.pq_cli:main",
            "sspanoptic-stq = sspanoptic_ros.evaluation.stq_cli:main",
            "sspanoptic-eval = sspanoptic_ros.evaluation.eval_cli:main",
            "sspanoptic-bench = sspanoptic_ros.bench.cli:main",
            "sspanoptic-synthetic = sspanoptic_ros.data.synthetic:main",
        ],
    },
)
