"""`--init-from`: weights from another model, keypoint channels mapped by joint name."""

import keras
import numpy as np
import pytest

import kerashg
from kerashg.keypoints import LSP, MPII
from tests.conftest import TINY, data_path
from training.config import TrainConfig
from training.train import train
from training.transfer import init_from, joint_mapping


def _acnn(num_keypoints, seed, **overrides):
    keras.utils.set_random_seed(seed)
    return kerashg.ACNN(num_keypoints=num_keypoints, stem_filters=(16, 32), **{**TINY, **overrides})


def test_joint_mapping_mpii_to_lsp_names_every_lsp_joint():
    mapping = joint_mapping(MPII, LSP)
    assert mapping["neck"] == "upper_neck" and mapping["head_top"] == "head_top"
    assert all(mapping[n] == n for n in LSP.names if n != "neck")
    assert joint_mapping(LSP, MPII)["pelvis"] is None  # LSP has no pelvis


def test_init_from_mpii_model_maps_heatmap_channels_to_lsp(tmp_path):
    source = _acnn(16, seed=1)
    source.save(tmp_path / "mpii.keras")
    target = _acnn(14, seed=2)
    fresh_attention = target.get_layer("stack0_attention").weights[1].numpy().copy()
    report = init_from(target, tmp_path / "mpii.keras", LSP)

    assert report.mapped == 2 * 2 + 1  # 2 heads × (kernel, bias) + the one merge's heatmap input
    assert not report.kept and all(report.joints.values())
    src, dst = (m.get_layer("stack1_head").heatmap_conv.kernel.numpy() for m in (source, target))
    for name in LSP.names:
        other = "upper_neck" if name == "neck" else name
        np.testing.assert_array_equal(dst[..., LSP.index(name)], src[..., MPII.index(other)])
    merge = [m.get_layer("stack0_merge").heatmaps_conv.kernel.numpy() for m in (source, target)]
    np.testing.assert_array_equal(
        merge[1][:, :, LSP.index("l_wrist")], merge[0][:, :, MPII.index("l_wrist")]
    )
    # Everything else is copied as it is, attention included (ACNN → ACNN).
    np.testing.assert_array_equal(
        target.get_layer("stem").weights[0].numpy(), source.get_layer("stem").weights[0].numpy()
    )
    np.testing.assert_array_equal(
        target.get_layer("stack0_attention").weights[1].numpy(),
        source.get_layer("stack0_attention").weights[1].numpy(),
    )
    assert not np.array_equal(
        fresh_attention, source.get_layer("stack0_attention").weights[1].numpy()
    )
    # The first stage predicts what the source's did for the shared joints (later
    # stages differ: the source's pelvis and thorax maps fed its merges).
    images = np.random.default_rng(0).random((1, 64, 64, 3)).astype("float32")
    a = source(images)["heatmaps"].numpy()[:, 0, ..., MPII.index("r_knee")]
    b = target(images)["heatmaps"].numpy()[:, 0, ..., LSP.index("r_knee")]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_init_from_hourglass_keeps_attention_fresh_and_rejects_other_sizes(tmp_path):
    keras.utils.set_random_seed(3)
    kerashg.StackedHourglass(num_keypoints=14, stem_filters=(16, 32), **TINY).save(
        tmp_path / "hg.keras"
    )
    target = _acnn(14, seed=4)
    before = target.get_layer("stack0_attention").weights[1].numpy().copy()
    report = init_from(target, tmp_path / "hg.keras", LSP)
    assert report.kept and all("attention" in p for p in report.kept)
    np.testing.assert_array_equal(target.get_layer("stack0_attention").weights[1].numpy(), before)

    wider = _acnn(14, seed=5, filters=32)
    with pytest.raises(ValueError, match="has shape .* --filters"):
        init_from(wider, tmp_path / "hg.keras", LSP)
    with pytest.raises(FileNotFoundError, match="no such file"):
        init_from(target, tmp_path / "missing.keras", LSP)
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a .keras model: not a zip archive"):
        init_from(target, tmp_path / "bad.keras", LSP)


@pytest.mark.data
@pytest.mark.slow
def test_lsp_training_reports_torso_pck_and_starts_from_a_synthetic_model(tmp_path):
    """A tiny synthetic (MPII-16) run starts an LSP-14 run; LSP is scored with PCK@0.2 of the torso."""
    root = data_path("lsp")
    tiny = dict(stacks=2, filters=16, depth=2, input_size=64, steps_per_epoch=2, batch_size=4,
                tensorboard=False, stem_filters=(16, 32))  # fmt: skip
    synthetic = train(TrainConfig(phase_epochs=(1, 0, 0), synthetic_pool=16, val_images=8,
                                  out=str(tmp_path / "syn"), **tiny))  # fmt: skip
    assert synthetic["pck_metric"] == "PCK@0.5 (head size)"
    metrics = train(TrainConfig(data="lsp", data_dir=str(root), phase_epochs=(1, 0, 0),
                                init_from=str(tmp_path / "syn" / "model.keras"),
                                out=str(tmp_path / "lsp"), **tiny))  # fmt: skip
    assert metrics["pck_metric"] == "PCK@0.2 (torso)" and metrics["pck_threshold"] == 0.2
    assert metrics["val_images"] == 40  # LSP's held-out 10 % of 400
    table = metrics["pck_table"]
    assert set(table) >= {"Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank", "total"}
    assert table["total"] == pytest.approx(metrics["pck"])
    assert metrics["config"]["init_from"].endswith("model.keras")
