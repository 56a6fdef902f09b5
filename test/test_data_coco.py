# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""COCO panoptic loader and transforms, on the real COCO sample and on tiny hand-made maps."""

import json
import shutil

import numpy as np
import pytest
import torch

from sspanoptic_ros.categories import Category
from sspanoptic_ros.data.coco import (
    IGNORE_INDEX,
    CocoPanoptic,
    id_to_index,
    id_to_rgb,
    panoptic_to_target,
    rgb_to_id,
)
from sspanoptic_ros.data.transforms import TrainTransform, collate, hflip, resize

GROUND, DISC = Category(1, "ground", False, (0, 160, 0)), Category(2, "disc", True, (220, 20, 60))


def _dataset(sample, **kwargs):
    return CocoPanoptic(sample / "images", sample / "panoptic_examples.json",
                        sample / "panoptic", **kwargs)


def _thing_ids(dataset):
    return {c.id for c in dataset.categories if c.isthing}


def _annotations(sample):
    return json.loads((sample / "panoptic_examples.json").read_text())["annotations"]


def _tiny_target():
    """4 x 6 ground with a 2 x 2 disc (id 5) at x 1..2, y 1..2 and a crowd disc pixel at (5, 0)."""
    ids = np.ones((4, 6), dtype=np.int32)
    ids[1:3, 1:3] = 5
    ids[0, 5] = 6
    segments = [{"id": 1, "category_id": 1}, {"id": 5, "category_id": 2},
                {"id": 6, "category_id": 2, "iscrowd": 1}]
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[ids == 5] = (200, 0, 0)
    return image, panoptic_to_target(ids, segments, [GROUND, DISC], image_id=7)


def test_panoptic_png_colour_encodes_the_id():
    assert rgb_to_id(np.array([[[220, 20, 60]]], dtype=np.uint8))[0, 0] == 3937500
    ids = np.array([[0, 1, 256, 65536, 256**3 - 1]])
    np.testing.assert_array_equal(rgb_to_id(id_to_rgb(ids)), ids)
    with pytest.raises(ValueError, match="segment ids must lie in"):
        id_to_rgb(np.array([256**3]))


def test_category_index_helpers_are_inverse():
    categories = [DISC, GROUND]
    assert id_to_index(categories) == {2: 0, 1: 1}


def test_sample_loads_as_rgb_images_with_label_maps(coco_sample):
    dataset = _dataset(coco_sample)
    assert len(dataset) == 2
    image, target = dataset[0]
    assert image.shape == (427, 640, 3) and image.dtype == np.uint8
    assert target.image_id == 142238
    assert target.semantic.shape == (427, 640) and target.semantic.dtype == np.int64
    assert target.center_offsets.shape == (2, 427, 640)
    ids, _ = dataset.panoptic(0)
    # Sky (category 184) pixels carry the channel of 184 in the 133-category list.
    sky_channel = id_to_index(dataset.categories)[184]
    assert (target.semantic[ids == 2330219] == sky_channel).all()


def test_boxes_and_labels_agree_with_coco_bboxes(coco_sample):
    dataset = _dataset(coco_sample)
    channel = id_to_index(dataset.categories)
    for index, ann in enumerate(_annotations(coco_sample)):
        _, target = dataset[index]
        things = [s for s in ann["segments_info"]
                  if s["category_id"] in _thing_ids(dataset) and not s["iscrowd"]]
        expected = [[x, y, x + w, y + h] for x, y, w, h in (s["bbox"] for s in things)]
        np.testing.assert_array_equal(target.boxes, expected)
        np.testing.assert_array_equal(target.labels, [channel[s["category_id"]] for s in things])
        assert target.labels[0] == 0  # person is the first category
        crowds = [s["bbox"] for s in ann["segments_info"] if s["iscrowd"]]
        np.testing.assert_array_equal(target.crowd_boxes,
                                      [[x, y, x + w, y + h] for x, y, w, h in crowds])


def test_void_and_crowd_pixels_are_ignored(coco_sample):
    dataset = _dataset(coco_sample)
    for index, ann in enumerate(_annotations(coco_sample)):
        _, target = dataset[index]
        ids, _ = dataset.panoptic(index)
        crowd_ids = [s["id"] for s in ann["segments_info"] if s["iscrowd"]]
        ignored = (ids == 0) | np.isin(ids, crowd_ids)
        np.testing.assert_array_equal(target.semantic == IGNORE_INDEX, ignored)
        assert not target.center_mask[ignored].any()


def test_center_offsets_point_from_each_thing_pixel_to_its_box_centre(coco_sample):
    dataset = _dataset(coco_sample)
    _, target = dataset[1]
    ys, xs = np.nonzero(target.center_mask)
    boxes = target.boxes[target.instance[ys, xs]]
    np.testing.assert_allclose(xs + 0.5 + target.center_offsets[0, ys, xs],
                               (boxes[:, 0] + boxes[:, 2]) / 2, atol=1e-4)
    np.testing.assert_allclose(ys + 0.5 + target.center_offsets[1, ys, xs],
                               (boxes[:, 1] + boxes[:, 3]) / 2, atol=1e-4)
    assert not target.center_offsets[:, ~target.center_mask].any()
    things = [s for s in _annotations(coco_sample)[1]["segments_info"]
              if s["category_id"] in _thing_ids(dataset) and not s["iscrowd"]]
    assert target.center_mask.sum() == sum(s["area"] for s in things)


def test_category_missing_from_a_given_list_is_named(coco_sample):
    categories = _dataset(coco_sample).categories
    with pytest.raises(ValueError, match="category id 37, which is not in the category list"):
        _dataset(coco_sample, categories=[c for c in categories if c.id != 37])


def test_missing_files_are_named(coco_sample, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        CocoPanoptic(coco_sample / "images", coco_sample / "panoptic_examples.json",
                     tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="absent.json"):
        CocoPanoptic(coco_sample / "images", tmp_path / "absent.json", coco_sample / "panoptic")
    dataset = CocoPanoptic(tmp_path, coco_sample / "panoptic_examples.json",
                           coco_sample / "panoptic")
    with pytest.raises(FileNotFoundError, match="000000142238.jpg"):
        dataset[0]


def test_png_segment_missing_from_the_json_is_named(coco_sample, tmp_path):
    data = json.loads((coco_sample / "panoptic_examples.json").read_text())
    data["annotations"][0]["segments_info"] = [
        s for s in data["annotations"][0]["segments_info"] if s["id"] != 3937500]
    (tmp_path / "edited.json").write_text(json.dumps(data))
    shutil.copytree(coco_sample / "panoptic", tmp_path / "panoptic")
    dataset = CocoPanoptic(coco_sample / "images", tmp_path / "edited.json", tmp_path / "panoptic")
    with pytest.raises(ValueError, match=r"segment ids \[3937500\] are in the panoptic PNG"):
        dataset[0]


def test_tiny_target_by_hand():
    _, target = _tiny_target()
    np.testing.assert_array_equal(target.semantic, [[0, 0, 0, 0, 0, 255],
                                                    [0, 1, 1, 0, 0, 0],
                                                    [0, 1, 1, 0, 0, 0],
                                                    [0, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(target.boxes, [[1, 1, 3, 3]])
    np.testing.assert_array_equal(target.labels, [1])
    np.testing.assert_array_equal(target.crowd_boxes, [[5, 0, 6, 1]])
    # Pixel (1, 1) has centre (1.5, 1.5); the box centre is (2, 2).
    np.testing.assert_array_equal(target.center_offsets[:, 1:3, 1:3],
                                  [[[0.5, -0.5], [0.5, -0.5]], [[0.5, 0.5], [-0.5, -0.5]]])


def test_resize_scales_maps_and_boxes():
    image, target = resize(*_tiny_target(), short_side=8, max_long_side=100)
    assert image.shape == (8, 12, 3) and target.semantic.shape == (8, 12)
    np.testing.assert_array_equal(target.boxes, [[2, 2, 6, 6]])
    np.testing.assert_array_equal(target.crowd_boxes, [[10, 0, 12, 2]])
    assert target.center_mask.sum() == 16
    np.testing.assert_array_equal(target.center_offsets[:, 2, 2], [1.5, 1.5])
    assert (image[3:5, 3:5, 0] == 200).all()  # bilinear: only the disc's inner pixels stay
    image, _ = resize(*_tiny_target(), short_side=8, max_long_side=9)  # long side bounds (6 x 9)
    assert image.shape == (8, 8, 3)  # sides rounded to a multiple of 4, as in inference


def test_resize_to_the_paper_size_on_the_sample(coco_sample):
    dataset = _dataset(coco_sample)
    for index, size in ((0, (576, 864)), (1, (488, 864))):
        image, target = dataset[index]
        resized, resized_target = resize(image, target)
        assert resized.shape[:2] == size and resized_target.semantic.shape == size
        scale = np.array([size[1] / image.shape[1], size[0] / image.shape[0]] * 2)  # per axis
        np.testing.assert_allclose(resized_target.boxes, target.boxes * scale, atol=1.5)


def test_training_resizes_images_as_inference_does(coco_sample):
    """Same size and same pixels as the engine's pre-processing (before normalisation)."""
    from sspanoptic_ros.engine.preprocess import network_input_size, preprocess
    from sspanoptic_ros.model import load_model_config

    config = load_model_config("resnet50_fpn_coco")
    for image, target in _dataset(coco_sample):
        for short_side, long_side in ((config.min_size, config.max_size), (150, 300)):
            config.min_size, config.max_size = short_side, long_side
            resized, resized_target = resize(image, target, short_side, long_side)
            height, width = network_input_size(*image.shape[:2], config)
            assert resized.shape == (height, width, 3) and resized_target.semantic.shape == (height, width)
            x = preprocess(torch.tensor(image), (height, width), config)[0, :, :height, :width]
            std, mean = (torch.tensor(v).view(3, 1, 1) for v in (config.pixel_std, config.pixel_mean))
            inference = (x * std + mean).permute(1, 2, 0)
            assert (inference - torch.from_numpy(resized).float()).abs().max() <= 0.51


def test_downscaling_drops_vanished_instances():
    ids = np.ones((8, 8), dtype=np.int32)
    ids[0, 0] = 5  # one pixel, lost at half size
    ids[4:8, 4:8] = 6
    segments = [{"id": 1, "category_id": 1}, {"id": 5, "category_id": 2},
                {"id": 6, "category_id": 2}]
    target = panoptic_to_target(ids, segments, [GROUND, DISC])
    _, small = resize(np.zeros((8, 8, 3), np.uint8), target, short_side=4, max_long_side=4)
    np.testing.assert_array_equal(small.boxes, [[2, 2, 4, 4]])
    np.testing.assert_array_equal(small.labels, [1])
    assert small.instance.max() == 0


def test_hflip_mirrors_boxes_maps_and_dx():
    image, target = _tiny_target()
    flipped_image, flipped = hflip(image, target)
    np.testing.assert_array_equal(flipped_image, image[:, ::-1])
    np.testing.assert_array_equal(flipped.semantic, target.semantic[:, ::-1])
    np.testing.assert_array_equal(flipped.boxes, [[3, 1, 5, 3]])
    np.testing.assert_array_equal(flipped.crowd_boxes, [[0, 0, 1, 1]])
    np.testing.assert_array_equal(flipped.center_offsets[0], -target.center_offsets[0][:, ::-1])
    np.testing.assert_array_equal(flipped.center_offsets[1], target.center_offsets[1][:, ::-1])


def test_train_transform_is_deterministic_per_generator(coco_sample):
    dataset = _dataset(coco_sample)
    image, target = dataset[1]

    unflipped = resize(image, target, 64, 96)[1].boxes

    def flips(seed):
        transform = TrainTransform(64, 96, generator=torch.Generator().manual_seed(seed))
        return [not np.array_equal(transform(image, target)[1].boxes, unflipped)
                for _ in range(8)]

    assert flips(3) == flips(3)
    assert any(flips(3)) and not all(flips(3))
    never = TrainTransform(64, 96, flip_prob=0.0)
    always = TrainTransform(64, 96, flip_prob=1.0)
    np.testing.assert_array_equal(never(image, target)[0], resize(image, target, 64, 96)[0])
    np.testing.assert_array_equal(always(image, target)[0],
                                  hflip(*resize(image, target, 64, 96))[0])


def test_collate_pads_to_a_common_divisible_size():
    small = _tiny_target()
    ids = np.ones((5, 3), dtype=np.int32)
    ids[3:5, 0:2] = 9
    segments = [{"id": 1, "category_id": 1}, {"id": 9, "category_id": 2}]
    tall = (np.full((5, 3, 3), 50, np.uint8), panoptic_to_target(ids, segments, [GROUND, DISC], 8))
    batch = collate([small, tall], size_divisibility=4)
    assert batch["images"].shape == (2, 3, 8, 8) and batch["images"].dtype == torch.uint8
    assert batch["semantic"].shape == (2, 8, 8) and batch["center_offsets"].shape == (2, 2, 8, 8)
    assert batch["image_sizes"] == [(4, 6), (5, 3)] and batch["image_ids"] == [7, 8]
    assert (batch["semantic"][0, :4, :6].numpy() == small[1].semantic).all()
    assert (batch["semantic"][0, 4:] == IGNORE_INDEX).all()
    assert (batch["semantic"][1, :, 3:] == IGNORE_INDEX).all()
    assert (batch["images"][1, :, :5, :3] == 50).all() and batch["images"][1].sum() == 50 * 45
    assert batch["center_mask"].sum(dim=(1, 2)).tolist() == [4, 4]
    assert batch["boxes"][1].tolist() == [[0, 3, 2, 5]]
    assert batch["labels"][1].tolist() == [1]
    assert collate([small])["images"].shape == (1, 3, 4, 6)
    with pytest.raises(ValueError, match="empty batch"):
        collate([])
