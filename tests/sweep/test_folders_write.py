"""Writing a results folder's files: whole or not at all, never through a link (sweep.folders.write)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import sweep.folders.write as write
from sweep.folders import replacing, write_csv, write_text_atomically


def test_a_csv_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_csv(path, ["x", "y"], [[1, 0.5], [None, True]])
    assert path.read_text() == "x,y\n1,0.5\n,true\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "summary.md"
    path.write_text("the last good report\n")

    def full_disk(src, dst) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_text_atomically(path, "a new report that does not fit\n")
    assert path.read_text() == "the last good report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]


def test_a_file_that_is_a_link_is_replaced_and_its_target_kept(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.md"
    target.write_text("someone else's file\n")
    (tmp_path / "summary.md").symlink_to(target)
    write_text_atomically(tmp_path / "summary.md", "ours\n")
    assert target.read_text() == "someone else's file\n"
    assert not (tmp_path / "summary.md").is_symlink() and (tmp_path / "summary.md").read_text() == "ours\n"


def test_a_planted_temporary_link_is_not_followed(tmp_path: Path) -> None:
    # A fixed temporary name could be planted as a link in advance; the temporary file is made with O_EXCL.
    target = tmp_path / "victim"
    target.write_text("keep\n")
    for pid in range(os.getpid() - 2, os.getpid() + 3):
        (tmp_path / f".summary.md.{pid}.tmp").symlink_to(target)
    write_text_atomically(tmp_path / "summary.md", "ours\n")
    assert target.read_text() == "keep\n"


def test_replacing_keeps_the_suffix_and_readable_modes(tmp_path: Path) -> None:
    with replacing(tmp_path / "front.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path and tmp.name.startswith(".front.png.")
        tmp.write_bytes(b"png")
    mode = stat.S_IMODE((tmp_path / "front.png").stat().st_mode)
    assert mode & 0o444 == 0o444 and not mode & 0o022


def test_a_failure_inside_replacing_leaves_the_old_file(tmp_path: Path) -> None:
    (tmp_path / "optuna.db").write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(tmp_path / "optuna.db") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the writer failed half way")
    assert (tmp_path / "optuna.db").read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["optuna.db"]
