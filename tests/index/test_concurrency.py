"""fp match reads the library while fp index writes to it."""
import shutil
import subprocess
import sys
import time

from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher

from ..conftest import clip


def test_match_while_indexing(tmp_path):
    lib_dir = tmp_path / "lib"
    with Library(lib_dir) as lib:
        index_paths(lib, [clip("friday.mp4")])
    more = tmp_path / "more"
    more.mkdir()
    for n in ("bbb_first60s.mp4", "cockatoo.mp4", "elf.mp4", "flower.mp4"):
        shutil.copy(clip(n), more / n)
    writer = subprocess.Popen([sys.executable, "-m", "fp.cli.main", "index", str(more), "--library", str(lib_dir), "--workers", "1", "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    verdicts = []
    try:
        deadline = time.time() + 300
        while writer.poll() is None and time.time() < deadline:
            with Library(lib_dir, create=False) as reader:
                result = Matcher(reader).match_file(clip("friday.mp4"))
                verdicts.append((result.verdict, result.matches[0].title if result.matches else None))
    finally:
        out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert verdicts and all(v == ("match", "friday") for v in verdicts)
    with Library(lib_dir) as lib:
        assert len(lib.videos()) == 5 and lib.verify() == []
