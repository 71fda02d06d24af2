import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from fp.fingerprint.errors import LibraryError, LibraryFormatError
from fp.fingerprint.pipeline import REFERENCE, fingerprint_video
from fp.index.indexer import index_paths
from fp.index.library import INDEX_NAME, Library
from fp.index.packed import MERGE_BITS_64
from fp.index.hamming import popcount_distances

from ..conftest import LateSubmitPool, clip


@pytest.fixture
def small_lib(tmp_path):
    lib = Library(tmp_path / "lib")
    index_paths(lib, [clip("friday.mp4"), clip("flower.mp4")])
    yield lib
    lib.close()


def test_the_index_report_counts_hashes_as_the_library_does(tmp_path):
    with Library(tmp_path / "lib") as lib:
        report = index_paths(lib, [clip("friday.mp4"), clip("flower.mp4")])
        assert report.to_dict()["hashes_added"] == lib.stats()["hashes"] > 0


def test_add_is_idempotent_and_verify_is_clean(small_lib):
    again = index_paths(small_lib, [clip("friday.mp4"), clip("flower.mp4")])
    assert again.count("skipped") == 2 and again.count("indexed") == 0
    stats = small_lib.stats()
    assert stats["videos"] == 2 and stats["hashes"] > stats["fine_hashes"] > 0
    assert small_lib.verify() == []


def test_faiss_search_agrees_with_brute_force(small_lib):
    fpr = fingerprint_video(clip("friday.mp4"))
    dist, videos, times = small_lib.search(fpr.codes, 5)
    codes = np.concatenate([stream.codes for _, stream in small_lib.store.streams("search")])
    brute = np.sort(popcount_distances(fpr.codes, codes), axis=1)[:, :5]
    assert np.array_equal(np.sort(dist, axis=1), brute)
    friday = small_lib.find_title("friday")[0].id
    # The reference holds these frames (a held shot's near-identical hashes are kept once).
    assert (dist[:, 0] <= MERGE_BITS_64).all() and (videos[:, 0] == friday).all()


def test_remove_is_applied_to_a_saved_index_without_rebuilding(small_lib, caplog):
    video = small_lib.find_title("flower")[0]
    before = len(small_lib.index)
    small_lib.remove(video.id)  # not saved: the saved index still holds the removed rows
    assert small_lib.find_title("flower") == []
    assert len(small_lib.index) == before - video.n_search
    # Readers apply the removal log to the saved index: consistent, and nothing is rebuilt.
    assert small_lib.verify() == []
    with Library(small_lib.root) as reopened:
        assert len(reopened.index) == before - video.n_search
        _, videos, _ = reopened.search(reopened.stream(reopened.find_title("friday")[0].id).codes, 3)
        assert video.id not in set(videos.ravel().tolist())
    assert "rebuild" not in caplog.text

def test_missing_or_corrupt_index_file_is_rebuilt(small_lib):
    n = len(small_lib.index)
    (small_lib.root / INDEX_NAME).write_bytes(b"garbage")
    with Library(small_lib.root) as reopened:
        assert len(reopened.index) == n
    (small_lib.root / INDEX_NAME).unlink()
    with Library(small_lib.root) as reopened:
        assert len(reopened.index) == n


def test_other_hasher_or_format_fails_naming_both(small_lib):
    with pytest.raises(LibraryFormatError, match="phash64.*phash256|phash256.*phash64"):
        Library(small_lib.root, config=replace(REFERENCE, hasher="phash256"))
    db = sqlite3.connect(small_lib.root / "library.sqlite")
    db.execute("UPDATE meta SET value = '99' WHERE key = 'format_version'")
    db.commit()
    db.close()
    with pytest.raises(LibraryFormatError, match="version 99.*version 2"):
        Library(small_lib.root)


def test_not_a_library(tmp_path):
    with pytest.raises(LibraryError, match="no fp library"):
        Library(tmp_path / "nothing", create=False)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "library.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LibraryError, match="damaged or not an fp library"):
        Library(tmp_path / "junk")


def test_changed_file_is_indexed_beside_the_old_content(tmp_path):
    """Identity is content: new bytes at an indexed path are a new video; the old one is kept
    (nothing is deleted behind the user's back) and the report says how to drop it."""
    import shutil

    src = tmp_path / "title.mp4"
    shutil.copy(clip("friday.mp4"), src)
    with Library(tmp_path / "lib") as lib:
        index_paths(lib, [src])
        shutil.copy(clip("flower.mp4"), src)  # same path, new content
        report = index_paths(lib, [src])
        assert report.count("indexed") == 1
        assert "fp library remove 1" in report.outcomes[0].reason and report.notes
        videos = lib.videos()
        assert len(videos) == 2 and abs(videos[1].duration - 5.0) < 0.2
        assert lib.verify() == []


def test_bad_files_in_a_batch_are_reported_and_the_rest_indexed(tmp_path):
    folder = tmp_path / "refs with spaces"
    folder.mkdir()
    import shutil

    shutil.copy(clip("friday.mp4"), folder / "Fríday – copy.mp4")
    (folder / "broken.mp4").write_bytes(b"\x00" * 1000)
    (folder / "empty.mov").write_bytes(b"")
    (folder / "notes.txt").write_text("ignored: not a video")
    with Library(tmp_path / "lib") as lib:
        report = index_paths(lib, [folder, tmp_path / "missing.mp4"])
        assert report.count("indexed") == 1
        failed = {o.path.rsplit("/", 1)[-1]: o.reason for o in report.failed}
        assert set(failed) == {"broken.mp4", "empty.mov", "missing.mp4"}
        assert "empty" in failed["empty.mov"]
        assert [v.title for v in lib.videos()] == ["Fríday – copy"]
        assert lib.verify() == []


def test_metadata_csv(tmp_path):
    from fp.index.indexer import read_metadata_csv

    csv_path = tmp_path / "meta.csv"
    csv_path.write_text(f"path,title,rights_holder,licensed_sellers,genre\n{clip('friday.mp4')},His Girl Friday,Public,shop1;shop2,comedy\n")
    with Library(tmp_path / "lib") as lib:
        index_paths(lib, [clip("friday.mp4")], metadata=read_metadata_csv(csv_path))
        v = lib.videos()[0]
        assert v.title == "His Girl Friday"
        assert v.metadata == {"rights_holder": "Public", "licensed_sellers": "shop1;shop2", "genre": "comedy"}


def test_a_worker_crash_fails_only_its_file(tmp_path, monkeypatch, worker_probes):
    """A decoder that kills its process (segfault-like) must not stop or poison the batch."""
    import shutil

    import fp.index.indexer as indexer

    monkeypatch.setattr(indexer, "_fingerprint_job", worker_probes.crashing_fingerprint_job)
    for n in ("friday.mp4", "flower.mp4", "elf.mp4"):
        shutil.copy(clip(n), tmp_path / n)
    shutil.copy(clip("frog.mp4"), tmp_path / "crash.mp4")
    with Library(tmp_path / "lib") as lib:
        report = indexer.index_paths(lib, [tmp_path], workers=2)
        status = {o.path.rsplit("/", 1)[-1]: o.status for o in report.outcomes}
        assert status == {"friday.mp4": "indexed", "flower.mp4": "indexed", "elf.mp4": "indexed", "crash.mp4": "failed"}
        assert "crashed" in report.failed[0].reason
        assert lib.verify() == []


def test_files_submitted_after_a_worker_died_are_not_lost(tmp_path, monkeypatch, worker_probes):
    """Once a worker has died, the pool refuses new work (submit raises BrokenProcessPool): the
    file being handed over then must still be indexed, not dropped from the report."""
    import shutil

    import fp.index.indexer as indexer
    import fp.index.pools as pools

    monkeypatch.setattr(indexer, "_fingerprint_job", worker_probes.crashing_fingerprint_job)
    monkeypatch.setattr(pools, "ProcessPoolExecutor", LateSubmitPool)
    shutil.copy(clip("frog.mp4"), tmp_path / "crash.mp4")
    for n in ("friday.mp4", "flower.mp4"):
        shutil.copy(clip(n), tmp_path / n)
    with Library(tmp_path / "lib") as lib:
        report = indexer.index_paths(lib, [tmp_path / "crash.mp4", tmp_path / "flower.mp4", tmp_path / "friday.mp4"],
                                     workers=2)
        status = {o.path.rsplit("/", 1)[-1]: o.status for o in report.outcomes}
        assert status == {"flower.mp4": "indexed", "friday.mp4": "indexed", "crash.mp4": "failed"}
        assert len(lib.videos()) == 2
