"""Compare's searcher: a fixed list, proposed once, its position saved as JSON."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from ray.tune.search import Searcher

from sweep.search.list_searcher import ListSearcher


def test_list_searcher_proposes_each_config_once_then_finishes():
    configs = [{"seed": 1, "arm": "a"}, {"seed": 1, "arm": "b"}]
    searcher = ListSearcher(configs, metric="ensemble_acc", mode="max")
    assert [searcher.suggest("x"), searcher.suggest("y")] == configs
    assert searcher.suggest("z") == Searcher.FINISHED
    configs[0]["seed"] = 99  # the searcher holds its own copy
    assert searcher.configs[0]["seed"] == 1


def test_list_searcher_round_trip(tmp_path):
    searcher = ListSearcher([{"seed": 1, "arm": "a"}, {"seed": 2, "arm": "a"}], metric="ensemble_acc", mode="max")
    searcher.suggest("x")
    path = tmp_path / "state.json"
    searcher.save(str(path))
    fresh = ListSearcher([], metric="ensemble_acc", mode="max")
    fresh.restore(str(path))
    assert fresh.suggest("y") == {"seed": 2, "arm": "a"} and fresh.suggest("z") == Searcher.FINISHED


def test_a_pickle_in_its_state_file_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "state.pkl"
    path.write_bytes(pickle.dumps({"configs": Payload()}))
    with pytest.raises(ValueError, match="not a netsep searcher state"):
        ListSearcher([{"seed": 1}], metric="ensemble_acc", mode="max").restore(str(path))
    assert not marker.exists()
