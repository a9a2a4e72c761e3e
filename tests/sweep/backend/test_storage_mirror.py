"""With an object-store --storage, the plan and report go next to Tune's folder there too.

``file://`` URIs stand in for a bucket: pyarrow serves both through the same calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sweep.backend.storage_mirror import mirror_to_storage
from sweep.errors import UserError


def results_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "experiments" / "s1"
    (folder / "tune").mkdir(parents=True)  # Tune's folder lives in the bucket: never copied
    (folder / "tune" / "x.json").write_text("{}")
    for name, text in (("sweep.json", "{}"), ("summary.md", "# s1\n"), ("trials.csv", "a,b\n")):
        (folder / name).write_text(text)
    (folder / ".summary.md.tmp").write_text("half")  # an atomic write in progress
    return folder


def test_the_files_go_next_to_tunes_folder(tmp_path):
    folder = results_folder(tmp_path)
    bucket = tmp_path / "bucket"
    written = mirror_to_storage(folder, f"file://{bucket}/s1/")
    assert written == [f"file://{bucket}/s1/{n}" for n in ("summary.md", "sweep.json", "trials.csv")]
    assert sorted(p.name for p in (bucket / "s1").iterdir()) == ["summary.md", "sweep.json", "trials.csv"]
    assert (bucket / "s1" / "summary.md").read_text() == "# s1\n"
    (folder / "summary.md").write_text("# s1, rewritten\n")
    mirror_to_storage(folder, f"file://{bucket}/s1")
    assert (bucket / "s1" / "summary.md").read_text() == "# s1, rewritten\n"


def test_a_local_storage_is_the_results_folder_itself(tmp_path):
    folder = results_folder(tmp_path)
    assert mirror_to_storage(folder, str(folder)) == []


def test_a_failed_copy_names_both_places(tmp_path):
    folder = results_folder(tmp_path)
    blocker = tmp_path / "bucket"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(UserError) as caught:
        mirror_to_storage(folder, f"file://{blocker}/s1")
    message = caught.value.message
    assert message.startswith(f"file://{blocker}/s1: cannot copy netsep's files") and str(folder) in message
