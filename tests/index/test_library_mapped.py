"""A read-only library maps its saved IVF index from the file (shared pages, instant open), and
never writes to the mapped lists: a library changed since the save is read and caught up."""
import numpy as np
import pytest

from fp.fingerprint.errors import LibraryError
from fp.index import faiss_factory
from fp.index.faiss_index import FrameIndex
from fp.index.indexer import index_paths
from fp.index.library import INDEX_NAME, Library
from fp.index.matcher import Matcher

from ..conftest import clip


@pytest.fixture
def ivf_lib(tmp_path, monkeypatch):
    """A small library whose index is an IVF, as libraries past ~25 h get (the rule's flat rung cut to 0)."""
    flat, ivf = faiss_factory.INDEX_KINDS
    monkeypatch.setattr(faiss_factory, "INDEX_KINDS", (faiss_factory.IndexChoice(flat.kind, below_code_bytes=0), ivf))
    root = tmp_path / "lib"
    with Library(root) as lib:
        index_paths(lib, [clip("friday.mp4"), clip("flower.mp4"), clip("elf.mp4")])
        lib.save_index()
        assert lib.index.state.kind == faiss_factory.KIND_IVF and not lib.index.mapped
    return root


def _verdicts(lib, names):
    matcher = Matcher(lib)
    return [(r.verdict, [m.title for m in r.matches]) for r in (matcher.match_file(clip(n)) for n in names)]


def test_a_read_only_library_maps_its_index_and_matches_as_when_read(ivf_lib):
    names = ["friday.mp4", "elf.mp4", "frog.mp4"]
    with Library(ivf_lib, create=False) as writable:
        read = _verdicts(writable, names)
        codes = writable.stream(1).codes[:50]
        want = writable.search(codes, 5)
    with Library(ivf_lib, create=False, readonly=True) as lib:
        assert lib.index.mapped
        got = lib.search(codes, 5)
        assert all(np.array_equal(a, b) for a, b in zip(got, want))
        assert _verdicts(lib, names) == read == [("match", ["friday"]), ("match", ["elf"]), ("no_match", [])]


def test_a_mapped_index_follows_videos_added_and_removed_since_its_save(ivf_lib):
    with Library(ivf_lib, create=False, readonly=True) as reader:
        assert reader.index.mapped and _verdicts(reader, ["cockatoo.mp4"]) == [("no_match", [])]
        with Library(ivf_lib, create=False) as writer:
            index_paths(writer, [clip("cockatoo.mp4")])  # saved at the end of the run
        assert reader.index.mapped  # the newest save, mapped again
        assert _verdicts(reader, ["cockatoo.mp4"]) == [("match", ["cockatoo"])]
        with Library(ivf_lib, create=False) as writer:
            writer.remove(writer.find_title("elf")[0].id)  # no save: the saved index still holds elf
        assert not reader.index.mapped  # read into memory to drop the removed video
        assert _verdicts(reader, ["elf.mp4", "friday.mp4"]) == [("no_match", []), ("match", ["friday"])]


def test_a_mapped_index_refuses_writes_instead_of_aborting(ivf_lib):
    index = FrameIndex.load(ivf_lib / INDEX_NAME, 64, mapped=True)
    assert index.mapped
    with Library(ivf_lib, create=False, readonly=True) as lib:
        stream = lib.stream(1)
    with pytest.raises(LibraryError, match="read-only"):
        index.add_video(99, stream)
    with pytest.raises(LibraryError, match="read-only"):
        index.remove_video(1)
    assert len(index) == len(FrameIndex.load(ivf_lib / INDEX_NAME, 64))
