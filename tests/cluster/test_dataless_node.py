"""A lab machine without the dataset's files trains its trials: the driver ships the data.

Three Ray nodes in network namespaces, one CPU each, as cluster.yaml starts them. The
second worker runs in a mount namespace of its own with empty tmpfs mounts over
Debian's Fashion-MNIST folder and over netsep's dataset cache, and it has no network
beyond the lab: it cannot read, find or download the data. A Fashion-MNIST sweep
driven from the head runs three trials at once, so one of them runs on that node,
and every trial must finish.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.cluster.netns import LabNetwork, RayLab
from tests.helpers import read_csv, require, trial_results
from tests.processes import Driver
from trainable.data import DEBIAN_FASHION_MNIST_DIR, cache_dir

pytestmark = [pytest.mark.netns, pytest.mark.slow]

DATALESS = 2  # the node index without the files


class DatalessNetwork(LabNetwork):
    """A LabNetwork whose node ``node`` sees empty tmpfs mounts over ``folders``."""

    def __init__(self, size: int, folders: Sequence[Path], node: int) -> None:
        super().__init__(size)
        self.folders, self.node = list(folders), node

    def exec_argv(self, node: int, argv: Sequence[str]) -> list[str]:
        if node != self.node:
            return super().exec_argv(node, argv)
        mounts = " && ".join(f"mount -t tmpfs netsep-nodata {shlex.quote(str(f))}" for f in self.folders)
        # unshare and sh both exec: the pid that `ip netns exec` started stays the node's process.
        return super().exec_argv(
            node, ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{mounts} && exec "$@"', "sh", *argv]
        )


@pytest.fixture
def dataless_lab(netns_available: None, tmp_path: Path) -> Iterator[RayLab]:
    require(DEBIAN_FASHION_MNIST_DIR.is_dir(), "needs Debian's dataset-fashion-mnist on the driver's machine")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    net = DatalessNetwork(3, [DEBIAN_FASHION_MNIST_DIR, cache], DATALESS)
    net.__enter__()
    try:
        lab = RayLab(net, tmp_path)
    except BaseException:
        net.close()
        raise
    try:
        lab.start()
        yield lab
    finally:
        lab.close()


def test_a_node_without_the_dataset_files_trains_its_trials(
    dataless_lab: RayLab, lab_driver: Callable[[RayLab, list[str]], Driver], tmp_path: Path
) -> None:
    lab = dataless_lab
    # The node really has no data: reading the dataset there fails.
    probe = lab.run_python(
        DATALESS,
        "from trainable.data import load_dataset\n"
        "try:\n"
        "    load_dataset('fashion-mnist')\n"
        "    print('FOUND')\n"
        "except Exception as err:\n"
        "    print('MISSING', type(err).__name__)\n",
        timeout_s=180,
    )
    assert "MISSING DatasetMissingError" in probe.stdout, probe.stdout[-2000:] + probe.stderr[-2000:]

    storage = tmp_path / "shared"
    driver = lab_driver(
        lab,
        [
            "--space",
            "loss_weights",
            "--data",
            "fashion-mnist",
            "--trials",
            "2",  # + the baseline: three trials, one per 1-CPU node
            "--replicates",
            "1",  # one seed each (the shipped space runs 3 to 6)
            "--epochs",
            "3",  # trials long enough (~10 s) that none ends, and hands its reused actor to the
            # third, before the data-less node's actor has started
            "--max-concurrent",
            "3",
            "--address",
            lab.address,
            "--storage",
            str(storage),
            "--name",
            "nodata",
            "--no-dashboard",
            "train_size=1000",
            "val_size=100",
            "batch_size=50",
            "width=0.25",
        ],
    )
    assert driver.wait(420) == 0, driver.tail()
    rows = read_csv(storage / "nodata" / "trials.csv")
    assert len(rows) == 3 and {r["status"] for r in rows} == {"complete"}, rows
    nodes = {r["node_ip"] for results in trial_results(storage / "nodata" / "tune").values() for r in results}
    assert lab.net.ips[DATALESS] in nodes, f"no trial ran on the node without data: {nodes}"
