"""Fixtures of the multi-host tests: a Ray cluster of network namespaces on this host."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster.netns import LabNetwork, RayLab, missing_requirements
from tests.helpers import require
from tests.processes import Driver


@pytest.fixture(scope="session")
def netns_available() -> None:
    """Skips (fails under NETSEP_REQUIRE_ALL=1) where this host cannot make network namespaces."""
    reason = missing_requirements()
    require(reason is None, f"multi-host tests need network namespaces: {reason}")


@pytest.fixture
def ray_lab(netns_available: None, tmp_path: Path) -> Iterator[Callable[[int], RayLab]]:
    """``make(nodes)``: Ray on ``nodes`` namespaces (node 0 the head), started as cluster.yaml does.

    Everything started in those namespaces, Ray and the sweep's driver alike, is killed
    by pid and the namespaces are deleted when the test ends, passed or failed.
    """
    labs: list[RayLab] = []

    def make(nodes: int) -> RayLab:
        net = LabNetwork(nodes)
        net.__enter__()
        try:
            lab = RayLab(net, tmp_path)
        except BaseException:
            net.close()
            raise
        labs.append(lab)
        lab.start()
        return lab

    try:
        yield make
    finally:
        for lab in labs:
            lab.close()


@pytest.fixture(scope="module")
def lab3(netns_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayLab]:
    """Ray on three namespaces, shared by a module's tests (one start-up instead of one each).

    A test that breaks the cluster (kills a node) must repair it before it ends: the tests run in random order.
    """
    net = LabNetwork(3)
    net.__enter__()
    try:
        lab = RayLab(net, tmp_path_factory.mktemp("lab3"))
    except BaseException:
        net.close()
        raise
    try:
        lab.start()
        yield lab
    finally:
        lab.close()  # kills every process in the namespaces by pid, deletes them


@pytest.fixture
def lab_driver(tmp_path: Path) -> Iterator[Callable[[RayLab, list[str]], Driver]]:
    """``start(lab, args)``: ``python launch.py *args`` in the head's namespace, as a cluster client."""
    drivers: list[Driver] = []

    def start(lab: RayLab, args: list[str]) -> Driver:
        driver = Driver(args, tmp_path / f"driver-{len(drivers)}.log", env=lab.env, prefix=lab.net.exec_argv(0, []))
        drivers.append(driver)
        return driver

    try:
        yield start
    finally:
        for driver in drivers:
            driver.stop()
