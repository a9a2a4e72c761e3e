"""Compare's searcher: a fixed list of configs, proposed in order, once each.

A Searcher rather than a grid so that Tune saves its position with the experiment (as
JSON, never a pickle) and ``Tuner.restore`` continues without repeating finished runs.
A sequential study's searcher also holds a gate (``sweep.search.look_gate.LookGate``)
that says how many of the configs may run yet, look by look.
"""

from __future__ import annotations

from typing import Any

from ray.tune.search import Searcher

from sweep.search.state import check_format, read_state_file, write_state_file

__all__ = ["STATE_FORMAT", "ListSearcher"]

STATE_FORMAT = 1  # version of ListSearcher's state files; another version is refused


class ListSearcher(Searcher):
    """Proposes a fixed list of configs, in order, once each (the compare mode's runs).

    A Searcher rather than a grid so that Tune saves its position with the
    experiment and ``Tuner.restore`` continues without repeating finished runs.
    """

    CKPT_FILE_TMPL = "searcher-state-{}.json"

    def __init__(self, configs: list[dict[str, Any]], metric: str, mode: str, gate: Any = None) -> None:
        super().__init__(metric=metric, mode=mode)
        self.configs = [dict(c) for c in configs]
        self.next_index = 0
        # A LookGate (also one of the experiment's callbacks): None proposes every config at once.
        # Its state is derived from Tune's trials, so it is not part of the saved state below.
        self.gate = gate

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        gate = getattr(self, "gate", None)  # a searcher pickled before gates existed has none
        if self.next_index >= len(self.configs) or (gate is not None and gate.stopped):
            return Searcher.FINISHED
        if gate is not None and self.next_index >= gate.allowed:
            return None  # the look's runs are still running: wait for its decision
        config = self.configs[self.next_index]
        self.next_index += 1
        return dict(config)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        pass  # nothing to learn: the list is fixed

    def get_state(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "searcher": type(self).__name__,
            "configs": self.configs,
            "next_index": self.next_index,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        check_format(state, type(self).__name__, STATE_FORMAT)
        self.configs = [dict(c) for c in state["configs"]]
        self.next_index = int(state["next_index"])

    def save(self, checkpoint_path: str) -> None:
        write_state_file(checkpoint_path, self.get_state())

    def restore(self, checkpoint_path: str) -> None:
        self.set_state(read_state_file(checkpoint_path))
