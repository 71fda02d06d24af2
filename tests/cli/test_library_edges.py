"""What a third probe of the command line found: odd ids, damaged rows, foreign databases, hash
files with impossible times, listings that are not CSV, rights holders that share letters."""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from fp.cli.main import cli

from ..conftest import clip


@pytest.fixture
def lib(session_library, tmp_path):
    return shutil.copytree(session_library, tmp_path / "lib")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("ref", ["99999999999999999999999", "²"])
def test_ids_sqlite_cannot_hold_or_that_are_not_ascii_digits_are_a_usage_error(lib, ref):
    r = run("library", "remove", ref, "--library", lib)
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output  # not an uncaught error
    assert ref in r.stderr


def test_another_programs_sqlite_is_refused_unchanged(tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    with sqlite3.connect(folder / "library.sqlite") as db:
        db.execute("CREATE TABLE notes (x TEXT)")
    before = hashlib.md5((folder / "library.sqlite").read_bytes()).hexdigest()
    r = run("index", clip("friday.mp4"), "--library", folder)
    assert r.exit_code != 0 and "not an fp library" in r.stderr
    assert hashlib.md5((folder / "library.sqlite").read_bytes()).hexdigest() == before  # not switched to WAL


def test_damaged_json_in_the_database_is_an_error_or_a_warning_never_a_traceback(lib):
    with sqlite3.connect(lib / "library.sqlite") as db:
        db.execute("UPDATE videos SET metadata = '{broken' WHERE id = 2")
    r = run("library", "list", "--library", lib, "--json")
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 5  # the video stays usable
    r = run("library", "verify", "--library", lib, "--json")
    assert r.exit_code == 1 and any("video 2: its metadata is not readable JSON" in p for p in json.loads(r.stdout)["problems"])
    with sqlite3.connect(lib / "library.sqlite") as db:
        db.execute("UPDATE meta SET value = 'nope' WHERE key = 'hash_params'")
    r = run("library", "info", "--library", lib)
    assert r.exit_code != 0 and "hash settings are not readable JSON" in r.stderr and "Traceback" not in r.output


@pytest.mark.parametrize("times", ["negative", "huge", "enormous"])
def test_hash_files_with_impossible_times_are_refused(session_library, tmp_path, times):
    r = run("fingerprint", clip("friday.mp4"), "--json", "-q")
    doc = json.loads(r.stdout)
    doc["times"] = {"negative": [t - 5 for t in doc["times"]], "huge": [1e300] * len(doc["times"]),
                    "enormous": [10**400] * len(doc["times"])}[times]
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    r = run("match", "--hashes", path, "--library", session_library, "--json", "-q")
    row = json.loads(r.stdout.splitlines()[0])
    assert r.exit_code == 1 and row["verdict"] == "error" and "not a number of seconds" in row["error"], row


def test_fp_fingerprint_says_on_stderr_what_decoding_noticed(tmp_path):
    import av
    import numpy as np

    from ..conftest import textured_frames

    path = tmp_path / "two.mp4"  # two video streams: hash files read one and say so
    with av.open(str(path), "w") as out:
        streams = [out.add_stream("libx264", rate=25) for _ in range(2)]
        for video in streams:
            video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
        for frame in textured_frames(30, h=96, w=160):
            for video in streams:
                out.mux(video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        for video in streams:
            out.mux(video.encode())
    r = run("fingerprint", path, "--json", "-q")
    assert r.exit_code == 0 and "fp: warning:" in r.stderr and "1 other video stream not examined" in r.stderr, r.stderr


def test_listings_that_are_not_a_csv_with_a_path_column_are_refused(session_library, tmp_path):
    for name, text in (("listings.json", '{"path": "x.mp4"}\n'), ("empty.csv", "")):
        path = tmp_path / name
        path.write_text(text)
        r = run("match", clip("friday.mp4"), "--listings", path, "--library", session_library, "-q")
        assert r.exit_code == 2 and "'path' column" in r.stderr, r.stderr


def test_rights_holders_never_share_a_notice_folder():
    from fp.service.notices import holder_folders

    names = ["Студия А", "Студия Б", "Pond Pictures", "Pond/Pictures", "Blender Foundation", "../../x"]
    folders = holder_folders(names)
    assert len(set(folders.values())) == len(names) and folders["Blender Foundation"] == "Blender-Foundation"
    assert folders["Pond Pictures"].startswith("Pond-Pictures-") and folders["Студия А"].startswith("holder-")
    assert all("/" not in f and not f.startswith(".") for f in folders.values())


def test_keys_refuse_a_folder_that_holds_no_library(tmp_path):
    r = run("keys", "list", "--library", tmp_path / "typo")
    assert r.exit_code == 2 and "no fp library" in r.stderr and not (tmp_path / "typo").exists()
