"""What every command checks on its outputs before any work."""

from __future__ import annotations

import os

import pytest

from adain.errors import AdaINError
from adain.outputs import check_writable_path, free_name, refuse_inputs_as_outputs


def test_an_output_that_is_an_input_is_refused_however_it_is_spelled(tmp_path, monkeypatch):
    photo = tmp_path / "same.jpg"
    photo.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.jpg"
    link.symlink_to(photo)
    monkeypatch.chdir(tmp_path / "sub")
    for spelling in (photo, "../same.jpg", link, tmp_path / "sub" / ".." / "same.jpg"):
        with pytest.raises(AdaINError, match="is the input"):
            refuse_inputs_as_outputs([spelling], [photo])
    refuse_inputs_as_outputs([tmp_path / "other.jpg"], [photo])  # another name is fine


def test_an_output_under_a_file_or_in_place_of_a_folder_is_refused(tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    with pytest.raises(AdaINError, match="is a file, not a folder"):
        check_writable_path(afile / "deeper" / "out.png")
    with pytest.raises(AdaINError, match="it is a file"):
        check_writable_path(afile, folder=True)
    with pytest.raises(AdaINError, match="it is a folder"):
        check_writable_path(tmp_path)
    check_writable_path(tmp_path / "new" / "folders" / "out.png")
    assert not (tmp_path / "new").exists()  # checking creates nothing


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(AdaINError, match="not writable"):
            check_writable_path(locked / "out.png")
    finally:
        locked.chmod(0o755)


def test_a_folder_the_probe_cannot_write_is_refused(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("adain.outputs.tempfile.mkstemp", denied)
    with pytest.raises(AdaINError, match="not writable .Permission denied"):
        check_writable_path(tmp_path / "out.png")


def test_a_free_name_never_replaces_a_file_or_a_name_already_used(tmp_path):
    first = tmp_path / "adain_1.mp4"
    assert free_name(first) == first
    first.write_bytes(b"x")
    assert free_name(first) == tmp_path / "adain_1_2.mp4"
    assert free_name(first, [tmp_path / "adain_1_2.mp4"]) == tmp_path / "adain_1_3.mp4"
