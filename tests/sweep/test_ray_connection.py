"""The local Ray netsep starts: its ``ray.init`` options, and idle workers that already
hold torch and the trainable when Tune's trial actors take them (issue 11)."""

from __future__ import annotations

import sys

import pytest

from sweep.ray_connection import PRELOAD_MODULES, connect, local_init_options


def test_local_init_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    on = local_init_options(dashboard=True, num_cpus=3, preload=True)
    assert on["_system_config"] == {"preload_python_modules": list(PRELOAD_MODULES)}
    assert on["dashboard_host"] == "127.0.0.1" and on["num_cpus"] == 3 and on["include_dashboard"]
    off = local_init_options(dashboard=False, num_cpus=None, preload=False)
    assert "_system_config" not in off and "num_cpus" not in off and "dashboard_host" not in off
    # ray.init(address=None) joins RAY_ADDRESS's cluster, which refuses a _system_config.
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    assert "_system_config" not in local_init_options(dashboard=False, num_cpus=1, preload=True)


def test_preload_order_imports_what_a_trial_needs() -> None:
    # torch before torch._dynamo, and the trainable last: it imports both anyway.
    assert PRELOAD_MODULES.index("torch") < PRELOAD_MODULES.index("torch._dynamo")
    assert PRELOAD_MODULES[-1] == "trainable.tune_function"


def test_an_actor_on_the_local_ray_finds_the_trainable_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tune's trial actors take Ray's idle workers: with the preload those have imported
    torch, torch._dynamo and the trainable before the actor exists."""
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    if ray.is_initialized():
        ray.shutdown()
    connect(None, dashboard=False, num_cpus=1)
    try:
        wanted = list(PRELOAD_MODULES)

        # Defined here, so cloudpickle ships it by value and unpickling it imports nothing.
        @ray.remote(num_cpus=1)
        class Probe:
            def loaded(self) -> list[str]:
                return [name for name in wanted if name in sys.modules]

        probe = Probe.remote()  # type: ignore[attr-defined]
        assert ray.get(probe.loaded.remote(), timeout=120) == wanted
    finally:
        ray.shutdown()
