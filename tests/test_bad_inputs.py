"""Bad user input: one clear error naming the file and field, never a silently wrong number."""

import cv2
import h5py
import numpy as np
import pytest

from training.datasets.records import AnnotationError


def _mpii_folder(root, normalize):
    """A tiny MPII folder in the hourglass layout: annot/{train,valid}.h5 beside images/."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "annot").mkdir()
    for split, n in (("train", 4), ("valid", len(normalize))):
        names = [f"{split}{i:05d}.jpg" for i in range(n)]
        for name in names:
            image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            assert cv2.imwrite(str(root / "images" / name), image)
        with h5py.File(root / "annot" / f"{split}.h5", "w") as f:
            f["imgname"] = np.array([name.encode() for name in names])
            f["part"] = rng.uniform(16, 48, (n, 16, 2)).round()
            f["center"], f["scale"] = np.tile([[32.0, 32.0]], (n, 1)), np.full(n, 0.3)
            f["visible"] = np.ones((n, 16))
            f["normalize"] = normalize if split == "valid" else np.full(n, 10.0)
    return root


def _config(root, data="mpii", **kwargs):
    from training.config import TrainConfig, resolve_config

    return resolve_config(
        TrainConfig(data=data, data_dir=str(root), input_size=32, **kwargs), gpu=False
    )


def test_mpii_head_sizes_give_the_pckh_normaliser(tmp_path):
    from training.sources import make_source

    root = _mpii_folder(tmp_path / "mpii", np.array([10.0, 12.0, 14.0]))
    source = make_source(_config(root))
    assert source.normalizer_name == "head size"
    np.testing.assert_allclose(source.val_normalizer, [10.0, 12.0, 14.0])


def test_mpii_nan_head_size_is_an_error_naming_file_field_and_row(tmp_path, capsys):
    from training import train
    from training.sources import make_source

    # Used to fall back to the person-box normaliser for every person, silently.
    root = _mpii_folder(tmp_path / "mpii", np.array([10.0, 12.0, np.nan, np.nan]))
    valid = root / "annot" / "valid.h5"
    with pytest.raises(AnnotationError) as error:
        make_source(_config(root))
    assert (error.value.path, error.value.index, error.value.field) == (str(valid), 2, "normalize")
    assert str(error.value).startswith(
        f"{valid}: record 2: field 'normalize': head size is nan for 2 of the 4 validation people"
    )
    out = tmp_path / "run"
    args = ["--data", "mpii", "--data-dir", str(root), "--input-size", "32", "--out", str(out)]
    with pytest.raises(SystemExit) as exit_info:
        train.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: {valid}: record 2: field 'normalize': head size is nan")
    assert "Traceback" not in "\n".join(err)


@pytest.mark.data
def test_coco_without_head_boxes_keeps_the_box_normaliser():
    from conftest import data_path

    from training.sources import make_source

    source = make_source(_config(data_path("coco-mini"), "coco", val_images=8))
    assert source.normalizer_name.startswith("head size, or ")
    assert np.isfinite(source.val_normalizer).all() and (source.val_normalizer > 0).all()
