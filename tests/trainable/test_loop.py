"""One trial without Ray: metrics, checkpoints, resume, divergence, the GPU code path on the CPU."""

from __future__ import annotations

import math

import pytest
import torch

from trainable.config import ConfigError, TrialConfig
from trainable.device import resolve_device
from trainable.loop import DivergedError, PairTraining, run_trial
from trainable.metric_names import METRICS
from trainable.step import JointStep, StepSettings

# The CPU, also where torch sees CUDA: the exact-equality checks below (resume, same seed)
# hold for the CPU's deterministic kernels, not for CUDA's bf16 autocast.
SMALL = {"dataset": "digits", "width": 0.25, "batch_size": 64, "epochs": 2, "cka_examples": 128, "device": "cpu"}


@pytest.mark.slow  # trains for more than a few seconds
@pytest.mark.parametrize(
    "objective, pairing", [("independent", None), ("seed", None), ("seed", "shared"), ("dice", None)]
)
def test_run_trial_reports_every_metric_each_epoch(objective, pairing):
    extra = {"w_adv": 0.0} if objective == "independent" else {}
    history = run_trial({**SMALL, "objective": objective, "pairing": pairing, **extra})
    assert [h["epoch"] for h in history] == [1, 2]
    for metrics in history:
        # every metric but the compare-only probe, and which split/epoch they come from
        assert set(metrics) == (set(METRICS) - {"probe_acc"}) | {"eval_split", "evaluated_epoch"}
        assert metrics["eval_split"] == "validation" and metrics["evaluated_epoch"] == metrics["epoch"]
        for name in ("acc_1", "acc_2", "ensemble_acc", "disagreement", "cka", "q_statistic", "ece"):
            assert math.isfinite(metrics[name]), name
        assert math.isnan(metrics["disc_acc"]) == (objective == "independent")
    # Twice chance (0.1) after two short epochs. `seed` members see half of each batch of 64:
    # over seeds 0-4 they reached 0.20-0.40 (fast path) and 0.24-0.39 (eager), so 0.3 was a coin toss.
    assert history[-1]["member_acc"] > 0.2


@pytest.mark.slow  # trains for more than a few seconds
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


@pytest.mark.slow  # trains for more than a few seconds
def test_same_config_same_result_and_other_seed_other_result():
    a = run_trial({**SMALL, "epochs": 1, "objective": "dice"})[-1]
    b = run_trial({**SMALL, "epochs": 1, "objective": "dice"})[-1]
    c = run_trial({**SMALL, "epochs": 1, "objective": "dice", "seed": 5})[-1]
    assert a["train_loss"] == b["train_loss"] and a["ensemble_acc"] == b["ensemble_acc"]
    assert a["train_loss"] != c["train_loss"]


@pytest.mark.slow  # trains for more than a few seconds
def test_a_non_finite_loss_names_the_epoch_and_step():
    with pytest.raises(DivergedError, match=r"diverged at epoch 1, step \d+"):
        run_trial({**SMALL, "epochs": 1, "objective": "dice", "optimizer": "sgd", "lr": 10.0})  # lr cap


def test_config_rejects_unknown_keys_and_bad_values_all_at_once():
    with pytest.raises(ConfigError) as info:
        TrialConfig.from_dict({"epoch": 3, "lr": -1.0, "objective": "gan"})
    text = str(info.value)
    assert "unknown key 'epoch'" in text and "objective" in text
    with pytest.raises(ConfigError, match="w_adv must be 0"):
        TrialConfig.from_dict({"objective": "independent", "w_adv": 0.5})
    with pytest.raises(ConfigError, match="pairing must be 'shared'"):
        TrialConfig.from_dict({"objective": "dice", "pairing": "split"})


def test_auto_follows_what_torch_sees():
    expected = "cuda" if torch.cuda.is_available() and torch.cuda.device_count() > 0 else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


def test_cuda_asked_for_without_cuda_is_a_clear_error(monkeypatch):
    # A torch without CUDA, on any machine: torch's own answers are the machine's, not
    # the code under test, so they are what is replaced.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(RuntimeError, match="no CUDA device"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.slow  # trains for more than a few seconds
@pytest.mark.parametrize("classifier", ["simple3", "fast"])
def test_the_gpu_code_path_runs_on_the_cpu(classifier):
    """bf16 autocast and channels_last, as on CUDA, through the same step code."""
    from trainable.models import create_classifier, create_discriminator

    torch.manual_seed(0)
    kw = dict(in_channels=1, image_size=8, num_classes=4, mean=(0.5,), std=(0.25,), width=0.25)
    nets = [create_classifier(classifier, **kw).to(memory_format=torch.channels_last) for _ in range(2)]
    disc = create_discriminator(
        "siamese_strided", rep_shape=tuple(nets[0].representation_shape), width=8, num_classes=4
    )
    opt = torch.optim.AdamW([p for n in nets for p in n.parameters() if p.requires_grad], lr=3e-3)
    step = JointStep(
        StepSettings("dice", "shared", w_adv=0.1, autocast_dtype=torch.bfloat16),
        nets[0],
        nets[1],
        opt,
        disc,
        torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999)),
    )
    x = torch.rand(32, 1, 8, 8).to(memory_format=torch.channels_last)
    y = torch.arange(32) % 4
    losses = [step(x, y).classifier_loss.item() for _ in range(25)]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]


# ------------------------------------------------------------- the LR schedule
def test_cosine_factor_values() -> None:
    from trainable.loop import cosine_factor

    assert cosine_factor(0, 8) == 1.0
    assert cosine_factor(2, 8) == pytest.approx(0.5 * (1 + math.sqrt(0.5)))  # cos(pi/4)
    assert cosine_factor(4, 8) == pytest.approx(0.5)
    assert cosine_factor(6, 8) == pytest.approx(0.5 * (1 - math.sqrt(0.5)))
    assert cosine_factor(8, 8) == pytest.approx(0.0, abs=1e-15)
    assert cosine_factor(11, 8) == pytest.approx(0.0, abs=1e-15)  # held at 0 past the end


@pytest.mark.slow  # trains for more than a few seconds
def test_every_step_uses_the_cosine_learning_rate() -> None:
    config = TrialConfig.from_dict(
        {**SMALL, "train_size": 320, "batch_size": 64, "epochs": 3, "lr": 0.004, "objective": "dice"}
    )
    training = PairTraining(config)
    used: list[float] = []
    training.opt.register_step_pre_hook(lambda opt, args, kwargs: used.append(opt.param_groups[0]["lr"]))
    for _ in range(3):
        training.train_epoch()
    total = 3 * (320 // 64)
    assert len(used) == total == training.steps_per_epoch * 3
    expected = [0.004 * 0.5 * (1 + math.cos(math.pi * k / total)) for k in range(total)]
    assert used == pytest.approx(expected, rel=1e-12)
    # The discriminator's learning rate is constant.
    assert training.disc_opt.param_groups[0]["lr"] == config.disc_lr


# ----------------------------------------------------- checkpoints under Tune
@pytest.mark.slow  # trains for more than a few seconds
@pytest.mark.parametrize("every, epochs, expected", [(1, 3, [1, 2, 3]), (2, 5, [2, 4, 5]), (3, 3, [3]), (4, 3, [3])])
def test_tune_function_checkpoints_every_n_epochs_and_at_the_end(monkeypatch, every, epochs, expected) -> None:
    import ray.tune

    from trainable import tune_function
    from trainable.checkpoint import read_state

    reports: list[tuple[int, int | None]] = []

    def report(metrics, checkpoint=None):
        saved = None
        if checkpoint is not None:
            with checkpoint.as_directory() as folder:
                saved = int(read_state(folder)["epoch"])
        reports.append((int(metrics["epoch"]), saved))

    monkeypatch.setattr(ray.tune, "report", report)
    monkeypatch.setattr(ray.tune, "get_checkpoint", lambda: None)
    monkeypatch.setattr(tune_function.ray, "get_gpu_ids", list)
    tune_function.train({**SMALL, "train_size": 128, "epochs": epochs, "checkpoint_every": every, "objective": "seed"})
    assert [epoch for epoch, _ in reports] == list(range(1, epochs + 1))
    # A checkpoint exactly on the expected epochs, each holding the state of its own epoch.
    assert [(e, s) for e, s in reports if s is not None] == [(e, e) for e in expected]
