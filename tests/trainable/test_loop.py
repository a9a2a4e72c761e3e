"""One trial without Ray: metrics, checkpoints, resume, divergence, the GPU code path on the CPU."""
from __future__ import annotations

import math

import pytest
import torch

from tests.helpers import require
from trainable import load_pair
from trainable.config import ConfigError, TrialConfig
from trainable.loop import DivergedError, PairTraining, resolve_device, run_trial
from trainable.metric_names import METRICS
from trainable.step import JointStep, StepSettings

SMALL = {"dataset": "digits", "width": 0.25, "batch_size": 64, "epochs": 2, "cka_examples": 128}


@pytest.mark.parametrize("objective", ["independent", "seed", "dice"])
def test_run_trial_reports_every_metric_each_epoch(objective):
    extra = {"w_adv": 0.0} if objective == "independent" else {}
    history = run_trial({**SMALL, "objective": objective, **extra})
    assert [h["epoch"] for h in history] == [1, 2]
    for metrics in history:
        assert set(metrics) == set(METRICS)
        for name in ("acc_1", "acc_2", "ensemble_acc", "disagreement", "cka", "q_statistic", "ece"):
            assert math.isfinite(metrics[name]), name
        assert math.isnan(metrics["disc_acc"]) == (objective == "independent")
    assert history[-1]["member_acc"] > 0.3  # well above chance (0.1) after two short epochs


def test_resume_from_a_checkpoint_continues_exactly(tmp_path):
    config = TrialConfig.from_dict({**SMALL, "epochs": 3, "objective": "dice"})
    straight = run_trial(config)

    first = PairTraining(config)
    first.run_epoch()
    first.save(tmp_path / "ckpt")
    resumed = PairTraining(config)
    resumed.restore(tmp_path / "ckpt")
    assert resumed.epoch == 1
    rest = [resumed.run_epoch(), resumed.run_epoch()]
    for a, b in zip(straight[1:], rest):
        for key in ("train_loss", "ensemble_acc", "disagreement", "cka", "disc_acc"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-9), key
    assert rest[-1]["epoch"] == 3


def test_same_config_same_result_and_other_seed_other_result():
    a = run_trial({**SMALL, "epochs": 1, "objective": "dice"})[-1]
    b = run_trial({**SMALL, "epochs": 1, "objective": "dice"})[-1]
    c = run_trial({**SMALL, "epochs": 1, "objective": "dice", "seed": 5})[-1]
    assert a["train_loss"] == b["train_loss"] and a["ensemble_acc"] == b["ensemble_acc"]
    assert a["train_loss"] != c["train_loss"]


def test_load_pair_returns_the_trained_pair(tmp_path):
    saved = {}

    def save(metrics, training):
        training.save(tmp_path / f"epoch{training.epoch}")
        saved["outputs"] = training.last_outputs

    run_trial({**SMALL, "epochs": 1, "objective": "seed"}, on_epoch=save)
    pair = load_pair(tmp_path / "epoch1")
    assert pair.config.objective == "seed" and pair.epoch == 1 and pair.discriminator is not None
    assert not pair.net_1.training and not pair.net_2.training
    assert torch.equal(pair.test_predictions.long(), saved["outputs"].predictions)
    assert torch.equal(pair.test_labels, saved["outputs"].labels)


def test_a_non_finite_loss_names_the_epoch_and_step():
    with pytest.raises(DivergedError, match=r"diverged at epoch 1, step \d+"):
        run_trial({**SMALL, "epochs": 1, "objective": "dice", "optimizer": "sgd", "lr": 1e12})


def test_config_rejects_unknown_keys_and_bad_values_all_at_once():
    with pytest.raises(ConfigError) as info:
        TrialConfig.from_dict({"epoch": 3, "lr": -1.0, "objective": "gan"})
    text = str(info.value)
    assert "unknown key 'epoch'" in text and "objective" in text
    with pytest.raises(ConfigError, match="w_adv must be 0"):
        TrialConfig.from_dict({"objective": "independent", "w_adv": 0.5})
    with pytest.raises(ConfigError, match="pairing must be 'split'"):
        TrialConfig.from_dict({"objective": "seed", "pairing": "shared"})


def test_cuda_asked_for_without_cuda_is_a_clear_error():
    require(not torch.cuda.is_available(), "this machine has CUDA: the error cannot happen here")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.parametrize("classifier", ["simple3", "fast"])
def test_the_gpu_code_path_runs_on_the_cpu(classifier):
    """bf16 autocast and channels_last, as on CUDA, through the same step code."""
    from trainable.models import create_classifier, create_discriminator

    torch.manual_seed(0)
    kw = dict(in_channels=1, image_size=8, num_classes=4, mean=(0.5,), std=(0.25,), width=0.25)
    nets = [create_classifier(classifier, **kw).to(memory_format=torch.channels_last) for _ in range(2)]
    disc = create_discriminator("siamese_strided", rep_shape=tuple(nets[0].representation_shape), width=8,
                                num_classes=4)
    opt = torch.optim.AdamW([p for n in nets for p in n.parameters() if p.requires_grad], lr=3e-3)
    step = JointStep(StepSettings("dice", "shared", w_adv=0.1, autocast_dtype=torch.bfloat16), nets[0], nets[1],
                     opt, disc, torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999)))
    x = torch.rand(32, 1, 8, 8).to(memory_format=torch.channels_last)
    y = torch.arange(32) % 4
    losses = [step(x, y).classifier_loss.item() for _ in range(25)]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
