"""The tf.data pipeline: geometry, flip, bad files, determinism, sharding."""

import logging

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kerashg import transforms
from kerashg.data import load_records
from kerashg.data.records import Records
from kerashg.images import read_image_file
from kerashg.keypoints import LSP, KeypointSet
from tests.conftest import data_path
from training import augment
from training.data import (
    DecodeCache,
    PipelineStats,
    make_dataset_fn,
    make_eval_dataset,
    make_train_dataset,
)

# Two joints that swap under a flip, one that does not.
DOTS = KeypointSet.custom("dots", ["l_dot", "r_dot", "mid"], flip_pairs=[(0, 1)])
DOT_SIGMA = 2.5  # px in the original image


def _dot_image(size, points):
    """Black image with one Gaussian blob per point, each in its own channel."""
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32)
    image = np.zeros((size[1], size[0], 3), np.float32)
    for c, (x, y) in enumerate(points):
        image[..., c] += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * DOT_SIGMA**2))
    return np.round(image * 255).astype(np.uint8)


def _centroids(crop):
    """Intensity-weighted centroid (x, y) of each channel of a float crop."""
    yy, xx = np.mgrid[0 : crop.shape[0], 0 : crop.shape[1]]
    out = []
    for c in range(3):
        w = np.where(crop[..., c] > 0.05, crop[..., c], 0.0)
        out.append([(w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()])
    return np.array(out)


def _dot_records(points, center, scale, n=1, path="img.png"):
    kps = np.concatenate([np.asarray(points, np.float32), np.full((3, 1), 2.0, np.float32)], axis=1)
    return Records.from_dicts(
        [{"image_path": path, "keypoints": kps, "center": center, "scale": scale}] * n, DOTS
    )


def _full_augment():
    return augment.AugmentConfig(
        scale=0.25, rotation=30.0, rotation_prob=1.0, flip_prob=0.5, color=0.0
    )


def test_warped_keypoints_land_on_the_painted_dots():
    points = [(90.3, 70.6), (150.8, 120.2), (120.0, 160.5)]
    image = _dot_image((240, 220), points)
    records = _dot_records(points, (120.0, 115.0), 1.0, n=12)
    dataset = make_train_dataset(
        records, images=np.stack([image] * 12), input_size=128, batch_size=12,
        augment=_full_augment(), seed=3, num_epochs=1,
    )  # fmt: skip
    images, targets, meta = next(iter(dataset))
    flips = 0
    for i in range(12):
        kps = meta["keypoints"][i].numpy()
        found = _centroids(images[i].numpy())
        inverse = meta["inverse"][i].numpy()
        # Channel c of the image holds dot c; a flip (a mirror: negative determinant)
        # moves dot 0 to joint 1 ("l_dot" ↔ "r_dot") and back.
        flipped = np.linalg.det(inverse[:, :2]) < 0
        order = [1, 0, 2] if flipped else [0, 1, 2]
        flips += int(flipped)
        # Each joint's crop position is where its dot landed, and maps back to the original.
        np.testing.assert_allclose(kps[order, :2], found, atol=0.5)
        back = transforms.transform_points(found, inverse)
        np.testing.assert_allclose(back, points, atol=0.5)
    assert 0 < flips < 12  # both flipped and unflipped samples were checked
    assert targets["heatmaps"].shape == (12, 32, 32, 3)
    np.testing.assert_array_equal(targets["weights"].numpy(), np.ones((12, 3)))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_files_decoded_at_reduced_size_still_align(tmp_path, suffix):
    # A 1600 px person box cropped to 128 px: the JPEG is decoded at 1/8 size.
    points = [(700.4, 650.7), (1003.2, 902.9), (851.6, 1100.1)]
    image = _dot_image((1800, 1700), points)
    big = cv2.GaussianBlur(image, (0, 0), 6)  # wide blobs survive the 1/8 decode
    big = (big.astype(np.float32) * (255.0 / big.reshape(-1, 3).max(0))).astype(np.uint8)
    cv2.imwrite(str(tmp_path / f"img{suffix}"), big[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 98])
    records = _dot_records(points, (850.0, 870.0), 8.0, path=f"img{suffix}")
    dataset = make_eval_dataset(records, tmp_path, input_size=128, batch_size=1)
    images, _, meta = next(iter(dataset))
    found = _centroids(images[0].numpy())
    np.testing.assert_allclose(meta["keypoints"][0, :, :2].numpy(), found, atol=0.5)
    back = transforms.transform_points(found, meta["inverse"][0].numpy())
    np.testing.assert_allclose(back, points, atol=0.5 * 8 / 128 * 1600)  # 0.5 crop px


def test_flip_swaps_left_and_right_channels():
    rng = np.random.default_rng(0)
    kps = np.concatenate([rng.uniform(40, 200, (14, 2)), np.full((14, 1), 2.0)], axis=1)
    records = Records.from_dicts(
        [{"image_path": "a", "keypoints": kps, "center": (120, 120), "scale": 1.2}], LSP
    )
    image = np.zeros((1, 240, 240, 3), np.uint8)

    def first(config):
        ds = make_train_dataset(
            records, images=image, augment=config, batch_size=1, num_epochs=1, input_size=64
        )
        return next(iter(ds))[2]["keypoints"][0].numpy()

    plain = first(augment.NO_AUGMENT)
    mirrored = first(dataclasses_replace(augment.NO_AUGMENT, flip_prob=1.0))
    flip_index = LSP.flip_index
    assert LSP.names[flip_index[0]] == "l_ankle"
    np.testing.assert_allclose(mirrored[:, 0], 63.0 - plain[flip_index, 0], atol=1e-3)
    np.testing.assert_allclose(mirrored[:, 1], plain[flip_index, 1], atol=1e-3)


def dataclasses_replace(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


def test_keypoints_outside_the_image_or_crop_are_invisible():
    kps = np.array([[-30.0, 50.0, 2], [50.0, 50.0, 2], [500.0, 50.0, 2]], np.float32)
    records = Records.from_dicts(
        [{"image_path": "a", "keypoints": kps, "center": (50, 50), "scale": 0.5}], DOTS
    )
    ds = make_eval_dataset(records, images=np.zeros((1, 100, 120, 3), np.uint8), input_size=64)
    _, targets, meta = next(iter(ds))
    np.testing.assert_array_equal(meta["keypoints"][0, :, 2].numpy(), [0, 2, 0])
    np.testing.assert_array_equal(targets["weights"][0].numpy(), [0, 1, 0])


def _write_good_and_bad(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(3):
        image = rng.integers(0, 255, (80, 60, 3), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / f"good{i}.jpg"), image)
    data = (tmp_path / "good0.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("this is not an image\n")
    names = ["good0.jpg", "truncated.jpg", "good1.jpg", "empty.jpg", "text.jpg", "good2.jpg"]
    kps = np.tile(np.array([[30.0, 40.0, 2]], np.float32), (3, 1))
    return Records.from_dicts(
        [{"image_path": n, "keypoints": kps, "center": (30, 40), "scale": 0.4} for n in names], DOTS
    )


def test_corrupt_files_are_skipped_counted_and_named(tmp_path, caplog):
    records = _write_good_and_bad(tmp_path)
    # OpenCV alone would accept the truncated file: it half-decodes it.
    assert cv2.imread(str(tmp_path / "truncated.jpg")) is not None
    stats = PipelineStats()
    with caplog.at_level(logging.WARNING, logger="training.data"):
        ds = make_eval_dataset(records, tmp_path, batch_size=4, input_size=64, stats=stats)
        got = np.concatenate([meta["index"].numpy() for _, _, meta in ds])
    np.testing.assert_array_equal(got, [0, 2, 5])
    assert stats.skipped == 3
    assert set(stats.skipped_files) == {"truncated.jpg", "empty.jpg", "text.jpg"}
    assert "truncated JPEG" in stats.skipped_files["truncated.jpg"]
    for name in ("truncated.jpg", "empty.jpg", "text.jpg"):
        assert sum(name in r.getMessage() for r in caplog.records) == 1


def test_missing_file_is_skipped_and_read_image_file_explains(tmp_path):
    records = _write_good_and_bad(tmp_path)[np.array([0, 2])]
    (tmp_path / "good1.jpg").unlink()
    stats = PipelineStats()
    ds = make_eval_dataset(records, tmp_path, input_size=64, stats=stats)
    assert sum(int(b[0].shape[0]) for b in ds) == 1
    assert stats.skipped_files == {"good1.jpg": "file not found"}
    with pytest.raises(Exception, match="empty file"):
        read_image_file(tmp_path / "empty.jpg")


def test_decode_cache_changes_no_pixel_and_serves_later_pipelines(tmp_path, monkeypatch):
    from training import data as data_lib

    records = _write_good_and_bad(tmp_path)[np.array([0, 2, 5, 0, 2, 5, 0, 2])]
    reads = []
    real_read = data_lib.read_image_file
    monkeypatch.setattr(
        data_lib,
        "read_image_file",
        lambda path, reduction=1: reads.append(path.name) or real_read(path, reduction),
    )

    def batches(cache):
        reads.clear()
        ds = make_train_dataset(
            records, tmp_path, input_size=64, batch_size=4, seed=3, num_epochs=3,
            augment=_full_augment(), decode_cache=cache, check_files=False,
        )  # fmt: skip
        return [tuple(x.numpy() for x in (b[0], b[2]["keypoints"])) for b in ds], list(reads)

    plain, plain_reads = batches(DecodeCache(0))
    shared = DecodeCache(1)
    cached, cached_reads = batches(shared)
    # A second pipeline given the same cache (a training run's next epoch) decodes nothing.
    again, again_reads = batches(shared)
    assert len(plain) == 6 and len(plain_reads) == 24 and again_reads == []
    for other in (cached, again):
        for (a_img, a_kps), (b_img, b_kps) in zip(plain, other, strict=True):
            np.testing.assert_array_equal(a_img, b_img)
            np.testing.assert_array_equal(a_kps, b_kps)
    # Three 80×60 files at full size (the 64² crop needs no reduction). Each epoch is
    # one chunk of 8 and the chunks of the three epochs may load in parallel before
    # the first one has filled the cache: at most one decode per file per chunk.
    counts = {name: cached_reads.count(name) for name in set(cached_reads)}
    assert sorted(counts) == ["good0.jpg", "good1.jpg", "good2.jpg"]
    assert max(counts.values()) <= 3 and len(cached_reads) <= 9
    # Without a cache every sample of the three epochs decoded its file (8 × 3).
    assert sorted(set(plain_reads)) == ["good0.jpg", "good1.jpg", "good2.jpg"]
    with pytest.raises(ValueError, match="megabytes=-1"):
        DecodeCache(-1)


def _batches(ds, n=2):
    return [tuple(x.numpy() for x in (b[0], b[2]["keypoints"], b[2]["index"])) for b in ds.take(n)]


def test_same_seed_same_batches_other_epoch_other_augmentation():
    points = [(90.0, 70.0), (150.0, 120.0), (120.0, 160.0)]
    image = _dot_image((240, 220), points)
    records = _dot_records(points, (120.0, 115.0), 1.0, n=8)
    images = np.stack([image] * 8)

    def build(seed, start_epoch=0, deterministic=True, num_epochs=None):
        return make_train_dataset(
            records, images=images, input_size=64, batch_size=4, seed=seed,
            start_epoch=start_epoch, deterministic=deterministic, num_epochs=num_epochs,
        )  # fmt: skip

    a, again = _batches(build(7)), _batches(build(7))
    for x, y in zip(a, again, strict=True):
        for u, w in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, w)
    # Without the order guarantee a record still gets the same crop and keypoints.
    loose = _batches(build(7, deterministic=False, num_epochs=1))
    by_index = {int(i): (im, k) for x in a for im, k, i in zip(*x, strict=True)}
    for x in loose:
        for im, k, i in zip(*x, strict=True):
            np.testing.assert_array_equal(im, by_index[int(i)][0])
            np.testing.assert_array_equal(k, by_index[int(i)][1])
    # The second epoch of a run equals the first epoch of a run resumed at epoch 1.
    a_epoch1 = _batches(build(7), 4)[2:]
    resumed = _batches(build(7, start_epoch=1))
    for x, y in zip(a_epoch1, resumed, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
    # Another epoch and another seed change the augmentation of the same record.
    by_index = {int(i): k for x in a for i, k in zip(x[2], x[1], strict=True)}
    assert len(by_index) == 8
    other = {int(i): k for x in resumed for i, k in zip(x[2], x[1], strict=True)}
    assert not np.allclose(by_index[0], other[0])
    other_seed = {int(i): k for x in _batches(build(8)) for i, k in zip(x[2], x[1], strict=True)}
    assert not np.allclose(by_index[0], other_seed[0])


def test_eval_pass_is_ordered_plain_and_keeps_the_partial_batch():
    points = [(90.0, 70.0), (150.0, 120.0), (120.0, 160.0)]
    records = _dot_records(points, (120.0, 115.0), 1.0, n=7)
    images = np.stack([_dot_image((240, 220), points)] * 7)
    evaluated = list(make_eval_dataset(records, images=images, input_size=64, batch_size=3))
    assert [int(b[0].shape[0]) for b in evaluated] == [3, 3, 1]
    index = np.concatenate([b[2]["index"].numpy() for b in evaluated])
    np.testing.assert_array_equal(index, np.arange(7))
    # The same crops as the training pipeline without augmentation (one shared core).
    plain = make_train_dataset(
        records, images=images, input_size=64, batch_size=7, augment=augment.NO_AUGMENT
    )
    shuffled, _, meta = next(iter(plain))
    ordered = np.concatenate([b[0].numpy() for b in evaluated])
    np.testing.assert_array_equal(ordered[meta["index"].numpy()], shuffled.numpy())


def test_dataset_fn_shards_and_splits_the_global_batch():
    kps = np.full((3, 3), 2.0, np.float32)
    records = Records.from_dicts(
        [
            {"image_path": "a", "keypoints": kps, "center": (8, 8), "scale": 0.1, "id": i}
            for i in range(12)
        ],
        DOTS,
    )
    fn = make_dataset_fn(
        records, None, 6, images=np.zeros((12, 16, 16, 3), np.uint8), input_size=32, num_epochs=1
    )
    seen = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=pipeline, num_replicas_in_sync=2
        )
        batches = list(fn(context))
        assert all(b[0].shape[0] == 3 for b in batches)
        seen.append(np.concatenate([b[2]["index"].numpy() for b in batches]))
    assert len(seen[0]) == len(seen[1]) == 6
    assert sorted(np.concatenate(seen).tolist()) == list(range(12))


@pytest.mark.data
def test_real_lsp_crops_match_opencv_reference():
    root = data_path("lsp")
    records = load_records("lsp", root, "all")[np.arange(6)]
    ds = make_eval_dataset(records, root, batch_size=6, input_size=128)
    images, targets, meta = next(iter(ds))
    for i in range(6):
        original = cv2.cvtColor(cv2.imread(str(root / records.image_path[i])), cv2.COLOR_BGR2RGB)
        want = transforms.crop_image(original, records.center[i], records.scale[i], 0.0, 128)
        got = np.round(images[i].numpy() * 255)
        assert np.abs(got - want).max() <= 1
        m = transforms.get_affine_transform(records.center[i], records.scale[i], 0.0, 128)
        kps = records.keypoints[i]
        want_xy = transforms.transform_points(kps[:, :2], m)
        vis = meta["keypoints"][i, :, 2].numpy() > 0
        np.testing.assert_allclose(meta["keypoints"][i].numpy()[vis, :2], want_xy[vis], atol=1e-3)
        back = transforms.transform_points(
            meta["keypoints"][i].numpy()[vis, :2], meta["inverse"][i].numpy()
        )
        np.testing.assert_allclose(back, kps[vis, :2], atol=1e-2)
    assert targets["heatmaps"].shape == (6, 32, 32, 14)


@pytest.mark.data
@pytest.mark.parametrize(
    "name, folder, split, expected",
    [("coco", "coco-mini", "val", 68), ("lsp", "lsp", "all", 400)],
)
def test_real_data_pipeline_yields_every_person(name, folder, split, expected):
    root = data_path(folder)
    records = load_records(name, root, split)
    stats = PipelineStats()
    # Batches of 4 divide both counts: the training pipeline keeps full batches only.
    ds = make_train_dataset(records, root, num_epochs=1, batch_size=4, stats=stats, input_size=64)
    count = sum(int(b[0].shape[0]) for b in ds)
    assert count == expected and stats.skipped == 0


def test_benchmark_cli_prints_one_json_object_last(capsys):
    import json

    from benchmarks.data import main

    main(["--data", "synthetic", "--synthetic-samples", "16", "--input-size", "64",
          "--batch-size", "8", "--batches", "2", "--warmup", "1", "--threads", "1", "--json"])  # fmt: skip
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["samples"] == 16 and result["skipped"] == 0 and result["samples_per_s"] > 0


def test_visualize_writes_a_grid_png(tmp_path):
    from training.visualize import main

    out = tmp_path / "grid.png"
    main(["--data", "synthetic", "--input-size", "64", "--num-samples", "4", "--out", str(out)])
    grid = cv2.imread(str(out))
    assert grid.shape == (64, 4 * 2 * 64, 3)  # one row of 4 samples, two tiles each
    assert grid.std() > 10  # something was drawn


def test_synthetic_dataset_and_its_held_out_split():
    from training.synthetic import make_synthetic_dataset, synthetic_source

    ds = make_synthetic_dataset(8, seed=2, image_size=64, input_size=64, batch_size=4, num_epochs=1)
    batches = list(ds)
    assert [b[0].shape for b in batches] == [(4, 64, 64, 3)] * 2
    assert batches[0][1]["heatmaps"].shape == (4, 16, 16, 16)
    assert float(tf.reduce_sum(batches[0][1]["weights"])) > 0
    train, train_images = synthetic_source(4, seed=2, image_size=64)
    valid, valid_images = synthetic_source(4, seed=2, split="valid", image_size=64)
    assert train.keypoint_set.num_keypoints == 16 and len(valid) == 4
    assert not np.array_equal(train_images, valid_images)


def test_loose_crops_keep_the_earlier_presets_random_stream():
    # The columns added for zoom-out and shift come from a second stream: the
    # first seven (scale, rotation, flip, colour) are what they were, so runs
    # made with the earlier presets augment exactly as before.
    uniforms = augment.epoch_uniforms(seed=3, epoch=5, num_samples=16).numpy()
    key = tf.random.experimental.stateless_fold_in(
        tf.constant([3, augment._AUGMENT_STREAM], tf.int64), tf.constant(5, tf.int64)
    )
    before = tf.random.stateless_uniform([16, 7], seed=key).numpy()
    np.testing.assert_array_equal(uniforms[:, :7], before)
    assert uniforms.shape == (16, augment.NUM_UNIFORMS)
    light = augment.sample_params(uniforms, augment.LIGHT_AUGMENT)
    assert np.all(light["shift"].numpy() == 0)
    np.testing.assert_allclose(light["scale_factor"], 1 + 0.1 * (2 * uniforms[:, 0] - 1), 1e-6)


def test_loose_crops_widen_up_to_three_times_and_move_the_centre():
    u = np.random.default_rng(0).random((4000, augment.NUM_UNIFORMS)).astype(np.float32)
    params = augment.sample_params(u, augment.LOOSE_AUGMENT)
    factor, shift = params["scale_factor"].numpy(), params["shift"].numpy()
    # Box × [0.8, 1.2] × zoom in [1, 3]: the person fills a third of the crop to all of it.
    assert 0.8 <= factor.min() < 0.9 and 3.3 < factor.max() <= 3.6
    assert np.median(factor) > 1.5
    # The centre moves within the room the wider crop leaves (plus a tenth of the box).
    room = (np.maximum(factor - 1, 0) + 0.1) / 2
    assert np.all(np.abs(shift) <= 0.8 * room[:, None] + 1e-6)
    assert np.abs(shift).max() > 0.5
    with pytest.raises(ValueError, match="zoom_out must be >= 1"):
        augment.AugmentConfig(zoom_out=0.5)


def test_mixed_crops_widen_half_and_leave_the_loose_preset_as_it_was():
    u = np.random.default_rng(1).random((4000, augment.NUM_UNIFORMS)).astype(np.float32)
    mixed = augment.sample_params(u, augment.MIXED_AUGMENT)["scale_factor"].numpy()
    # The other half keep the box crop: scale ±20 % only, as the re-crop around found joints.
    scale = 1 + 0.2 * (2 * u[:, 0] - 1)
    widened = u[:, 7] < 0.5
    assert 0.47 < widened.mean() < 0.53 and mixed.max() > 3.3
    np.testing.assert_allclose(mixed[~widened], scale[~widened], rtol=1e-6)
    zoom = np.exp(2 * u[widened, 7].astype(np.float64) * np.log(3.0))
    np.testing.assert_allclose(mixed[widened], scale[widened] * zoom, rtol=1e-5)
    # zoom_prob 1 draws exactly the zoom of before.
    once = augment.sample_params(u, augment.LOOSE_AUGMENT)["scale_factor"].numpy()
    zoom = np.exp(u[:, 7].astype(np.float64) * np.log(3.0))
    np.testing.assert_allclose(once, scale * zoom, rtol=1e-5)
    with pytest.raises(ValueError, match="zoom_prob must be <= 1"):
        augment.AugmentConfig(zoom_prob=1.5)


def test_shifted_crops_keep_keypoints_on_the_dots():
    # The shift is folded into the crop's matrix: the joints' targets move with the pixels.
    points = [(40.0, 50.0), (80.0, 60.0), (60.0, 90.0)]
    image = _dot_image((128, 128), points)
    records = _dot_records(points, center=(60.0, 70.0), scale=0.4, n=8)
    config = augment.AugmentConfig(scale=0.0, rotation=0.0, flip_prob=0.0, color=0.0, zoom_out=2.0,
                                   shift=0.8)  # fmt: skip
    ds = make_train_dataset(
        records, images=np.stack([image] * 8), input_size=64, batch_size=8, seed=1,
        augment=config,
    )  # fmt: skip
    images, _, meta = next(iter(ds))
    for crop, keypoints in zip(images.numpy(), meta["keypoints"].numpy(), strict=True):
        visible = keypoints[:, 2] > 0
        np.testing.assert_allclose(_centroids(crop)[visible], keypoints[visible, :2], atol=0.6)


@pytest.mark.data
def test_whole_image_validation_crops_the_whole_image_as_predict_does():
    # Training's `pck_whole` scores the held-out people on the crop a user with no
    # box gets: `kerashg.runtime.whole_frame_box` of each image.
    from kerashg.runtime import whole_frame_box
    from training.sources import whole_image_records

    root = data_path("lsp")
    records = load_records("lsp", root, "val")[np.arange(5)]
    whole = whole_image_records(records, root)
    for i in range(5):
        height, width = read_image_file(root / records.image_path[i]).shape[:2]
        center, scale = whole_frame_box(width, height)
        np.testing.assert_allclose(whole.center[i], center)
        assert whole.scale[i] == pytest.approx(scale)
    np.testing.assert_array_equal(whole.keypoints, records.keypoints)
    np.testing.assert_array_equal(records.scale, load_records("lsp", root, "val").scale[:5])
