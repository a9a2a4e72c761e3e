"""A killed driver's leftover: a trial it started (here: finished) after Tune last saved its state.

``--resume`` does not know it and gives its configuration number to a new configuration
(the reissue). The report must keep the number with the reissue, as the live study
(``optuna.journal``, rebuilt from Tune's state) does, and show the leftover as a
configuration of its own in every file: configs.csv, trials.csv and optuna.db, where
trial N stays configuration cN. Found by the soak benchmark (bench/SOAK.md): with one
seed per configuration, leftover and reissue tie on complete seeds, and the folder's
order (unlisted trials last) gave the number to the leftover.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import optuna

from sweep.report import CONFIGS_CSV, OPTUNA_DB, TRIALS_CSV, write_report
from sweep.report.configs import group_configs
from tests.sweep.report.test_configs import trial
from tests.sweep.tune_folders import SPACE, TuneFolder, read_csv

CURVE = [(0.7, 0.2), (0.8, 0.1), (0.9, 0.05)]  # all 3 epochs: complete


def _folder(root: Path) -> TuneFolder:
    f = TuneFolder(root, space={**SPACE, "trials": 3})
    f.sweep_trial("b0000001", "TERMINATED", {}, CURVE, baseline={"objective": "independent", "w_adv": 0.0})

    def search(tid: str, number: int, w_adv: float, start: float, **kwargs: object) -> None:
        params = {"w_adv": w_adv, "disc_arch": "mlp", "config_id": number, "replicate": 0, "seed": 0}
        f.sweep_trial(tid, "TERMINATED", params, CURVE, start=start, **kwargs)

    search("t0", 0, 0.01, start=1)
    # The killed driver's c1 finished after Tune's last save: its folder is all there is.
    search("t1old", 1, 0.9, start=2, in_state=False)
    search("t1new", 1, 0.3, start=100)  # the resumed search's c1
    search("t2", 2, 0.05, start=101)
    f.save_state()
    return f


def test_the_reissue_keeps_the_number_in_every_file(tmp_path: Path) -> None:
    f = _folder(tmp_path)
    write_report(f.results)
    configs = {r["config_id"]: r for r in read_csv(f.results / CONFIGS_CSV)}
    assert sorted(configs) == ["c0", "c1", "c2", "t1old"]
    assert float(configs["c1"]["w_adv"]) == 0.3 and float(configs["t1old"]["w_adv"]) == 0.9
    assert configs["t1old"]["optuna_number"] == ""

    trials = {r["trial_id"]: r for r in read_csv(f.results / TRIALS_CSV)}
    assert {t: r["config_id"] for t, r in trials.items() if r["arm"] == "search"} == {
        "t0": "c0",
        "t1new": "c1",
        "t2": "c2",
        "t1old": "t1old",  # its own configuration, as configs.csv names it
    }

    study = optuna.load_study(study_name="demo", storage=f"sqlite:///{f.results / OPTUNA_DB}")
    got = [(t.number, t.user_attrs["config_id"], t.user_attrs["tune_trial_ids"]) for t in study.trials]
    assert got == [(0, "c0", ["t0"]), (1, "c1", ["t1new"]), (2, "c2", ["t2"]), (3, "t1old", ["t1old"])]
    assert study.trials[1].params["w_adv"] == 0.3


def test_on_a_tie_the_later_start_keeps_the_number_whatever_the_order() -> None:
    old = replace(trial("old", seed=0, acc=0.5, config_id=2), params={"w_adv": 0.9}, started=10.0)
    new = replace(trial("new", seed=0, acc=0.9, config_id=2), started=20.0)
    for order in ([old, new], [new, old]):
        configs = {c.config_id: c for c in group_configs(order)}
        assert sorted(configs) == ["c2", "old"]
        assert [t.trial_id for t in configs["c2"].replicates] == ["new"] and configs["old"].number is None
