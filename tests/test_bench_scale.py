"""`fp bench --scale` at a tiny size, the synthetic films it is made of, and the child-process watchdog."""
import json
import shutil

import numpy as np
from click.testing import CliRunner

from fp.benchmarks import scale, synthetic
from fp.benchmarks.child import run_child
from fp.cli.main import cli
from fp.fingerprint.pipeline import REFERENCE, fingerprint_video

from .conftest import clip


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.unpackbits(a ^ b, axis=1).sum(axis=1)


def test_tiny_scale_bench_reports_every_key_and_finds_the_copies(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    for name in ("friday.mp4", "flower.mp4", "stream-of-water.mp4"):  # water (3 s) is held out as unrelated
        shutil.copy(clip(name), refs / name)
    out = tmp_path / "out"
    args = ["bench", "--scale", "0.05", "--refs", str(refs), "--out", str(out), "--suspect-seconds", "8",
            "--copies", "2", "--unrelated", "1", "-q", "--json"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert set(scale.KEYS) <= set(result)
    assert abs(result["hours"] - 0.05) < 0.002  # real references plus one synthetic film fill the hours
    assert result["videos"] == 3 and result["films"] == 1
    assert result["copies"] == 2 and result["unrelated"] == 1
    assert result["recall"] == 1.0 and result["false_matches"] == 0
    assert result["match_threads"] == 1
    assert 0 < result["bytes_per_hour"] < 100e6
    assert 30 < result["build_peak_rss_mb"] < 2000 and 30 < result["match_peak_rss_mb"] < 2000
    assert result["build_s"] > 0 and result["open_s"] > 0
    assert result["search_s_copy"] > 0 and result["search_s_unrelated"] > 0
    assert json.loads((out / "scale-0.05h.json").read_text())["hashes"] == result["hashes"]

    # Matching again against the library left in --out: no build, the same library and answers.
    again = CliRunner().invoke(cli, args + ["--reuse-library"])
    assert again.exit_code == 0, again.output
    reused = json.loads(again.stdout)
    assert reused["build_s"] is None and reused["reused_library"] is True
    assert reused["hashes"] == result["hashes"] and reused["recall"] == 1.0 and reused["false_matches"] == 0

    # Several runs collect into the SCALE.md table and the plot.
    results = scale.load_results([out / "scale-0.05h.json"])
    assert "| 0.05 h | 3 | " in scale.table(results)
    assert scale.plot(results, tmp_path / "scale.png").stat().st_size > 5000


def test_synthetic_films_keep_real_distances_within_a_copy_and_are_far_between_copies():
    real = fingerprint_video(clip("friday.mp4"), REFERENCE)
    one = synthetic.masked(real, np.random.default_rng(1))
    two = synthetic.masked(real, np.random.default_rng(2))
    # within a copy, every Hamming distance is the real one
    assert np.array_equal(_hamming(one.codes[:-1], one.codes[1:]), _hamming(real.codes[:-1], real.codes[1:]))
    fine = real.fine_rows
    assert np.array_equal(_hamming(one.fine_codes[fine][:-1], one.fine_codes[fine][1:]),
                          _hamming(real.fine_codes[fine][:-1], real.fine_codes[fine][1:]))
    assert not one.fine_codes[~fine].any()  # crop rows carry no fine hash
    # a copy sits as far from the real clip as an unrelated video (24+ of 64 bits), never within the match radius
    away = [int(np.unpackbits(synthetic.random_mask(np.random.default_rng(s), 8)).sum()) for s in range(3000)]
    assert min(away) >= 24 and 30 < np.mean(away) < 34
    assert set(_hamming(one.codes, real.codes)) == {int(np.unpackbits(one.codes[0] ^ real.codes[0]).sum())}
    assert _hamming(one.codes, real.codes).min() >= 24 and _hamming(two.codes, real.codes).min() >= 24

    films = list(synthetic.iter_films([real], total_seconds=40.0, film_seconds=15.0, seed=3))
    assert [round(f.duration, 3) for _, f in films] == [15.0, 15.0, 10.0]
    assert all(np.all(np.diff(f.times) >= 0) and f.times.max() < f.duration for _, f in films)
    assert all(f.params == real.params for _, f in films)
    again = dict(synthetic.iter_films([real], total_seconds=40.0, film_seconds=15.0, seed=3))
    assert np.array_equal(again[1].codes, films[1][1].codes)  # film n depends only on (seed, n)
    assert not np.array_equal(films[0][1].codes[:100], films[1][1].codes[:100])


def test_child_watchdog_stops_a_step_past_its_memory_limit():
    ok = run_child("fp.benchmarks.child:hold_memory", {"mb": 50, "seconds": 0.1})
    assert ok.ok and ok.value == {"held_mb": 50}
    assert ok.peak_rss_mb >= ok.baseline_rss_mb + 45  # VmHWM sees the 50 MB
    stopped = run_child("fp.benchmarks.child:hold_memory", {"mb": 400, "seconds": 30}, mem_limit_mb=200)
    assert not stopped.ok and stopped.stopped and "200 MB" in stopped.error
    assert stopped.elapsed_s < 20
    failed = run_child("fp.benchmarks.child:hold_memory", {"mb": -1, "seconds": 0})
    assert not failed.ok and not failed.stopped and "ValueError" in failed.error


def test_whole_film_benchmark_finds_a_short_film_and_reports_each_step(tmp_path):
    from fp.benchmarks import films

    rows = films.run_films([0.5], tmp_path, mode="video", log=lambda msg: None)
    (row,) = rows
    assert row["copied"] == [1.5, 28.5]
    for step in ("fingerprint_ref", "fingerprint_suspect", "build", "match"):
        assert "error" not in row[step], row[step]
        assert row[step]["peak_rss_mb"] > 30 and row[step]["seconds"] > 0
    assert row["fingerprint_ref"]["duration"] >= 29.5
    match = row["match"]
    assert match["verdict"] == "match" and match["best"]["title"] == "film-0.5min-ref"
    assert match["ref_coverage_of_copy"] > 0.9
    q0, q1 = match["best"]["query_span"]
    assert abs(q0 - films.INTRO_S) < 1.0  # the unrelated intro is not part of the match
    assert json.loads((tmp_path / "films-video.json").read_text())[0]["minutes"] == 0.5
    assert "| 0.5 min | video |" in films.table(rows)


def test_a_film_placed_just_before_slot_edges_keeps_its_saved_index_fitting(tmp_path):
    """First-stage rows are chosen per second of stored (centisecond) time: rows at 0.997 s,
    2.997 s... store as 1.00 s, 3.00 s. Counted on the unrounded times, n_search disagreed with
    the index built from the stored rows, so every open judged the saved index stale and
    rebuilt it (in memory, for each `fp match` of a read-only library)."""
    from fp.index.faiss_index import FrameIndex
    from fp.index.library import INDEX_NAME, Library

    real = fingerprint_video(clip("friday.mp4"), REFERENCE)
    film = synthetic.concat([(0.997, synthetic.masked(real, np.random.default_rng(5)))], "film", real.duration + 1)
    with Library(tmp_path / "lib") as lib:
        lib.add(film, path="/film.mp4", title="film", content_hash="f" * 64, size=0)
        lib.save_index()
    with Library(tmp_path / "lib", create=False, readonly=True) as lib:
        saved = FrameIndex.load(tmp_path / "lib" / INDEX_NAME, lib.nbits)
        assert lib.stats()["indexed_hashes"] == len(saved)
        assert lib.verify() == []


def test_merge_runs_keeps_the_rows_a_walk_from_anchor_to_anchor_keeps():
    """The lag-table merge (fast enough for 10,000 h builds) against the plain anchor walk."""
    from fp.index.hamming import popcount_distances
    from fp.index.packed import merge_runs

    def walk(times, codes, quality, max_bits, max_run=1.0):
        keep, usable = [0], quality >= 8
        for i in range(1, len(times)):
            a = keep[-1]
            if (times[i] - times[a] > max_run or usable[i] != usable[a]
                    or popcount_distances(codes[i:i + 1], codes[a:a + 1])[0, 0] > max_bits):
                keep.append(i)
        return np.asarray(keep)

    rng = np.random.default_rng(4)
    real = fingerprint_video(clip("friday.mp4"), REFERENCE)
    whole = real.views == 0
    cases = [(real.times[whole], real.codes[whole], real.quality[whole])]
    # drifting codes (a few bits per step), uneven steps, blank frames
    drift = np.cumsum(rng.random((400, 64)) < 0.02, axis=0) % 2
    cases.append((np.cumsum(rng.choice([0.1, 0.2, 0.4, 1.5], 400)), np.packbits(drift.astype(np.uint8), axis=1),
                  np.where(rng.random(400) < 0.1, 0, 50).astype(np.uint8)))
    for times, codes, quality in cases:
        for max_bits in (-1, 0, 2, 6):
            keep, ends = merge_runs(times, codes, quality, max_bits)
            assert np.array_equal(keep, walk(times, codes, quality, max_bits))
            assert np.array_equal(ends, times[np.append(keep[1:] - 1, len(times) - 1)])
    assert 1 < len(merge_runs(*cases[1], 2)[0]) < 400


def test_hypotheses_skip_chance_groups_but_return_what_voting_every_group_returns():
    """At library scale most (video, mirror) groups are a few chance hits; voting them in order
    of their bound and stopping early must give the exhaustive vote's list."""
    from fp.index.align import Candidates, Hypothesis, _vote, hypotheses

    def exhaustive(c, radius, per_video=2):
        weight = (radius + 1 - c.distance) / (radius + 1.0)
        out = []
        for video_id, mirrored in np.unique(np.stack([c.video_id, c.mirrored.astype(np.int64)], axis=1), axis=0):
            sel = (c.video_id == video_id) & (c.mirrored == bool(mirrored))
            out += [Hypothesis(int(video_id), bool(mirrored), s, o, v)
                    for s, o, v in _vote(c.query_idx[sel], c.query_t[sel], c.ref_t[sel], weight[sel], per_video)]
        out.sort(key=lambda h: -h.votes)
        return out

    rng = np.random.default_rng(0)
    for trial in range(2):
        q = rng.integers(0, 300, 400)  # chance hits spread over 60 videos
        vids, ref_t = rng.integers(0, 60, 400), rng.uniform(0, 5400, 400)
        true_q = np.arange(0, 300, 2)  # and copies of two videos (one mirrored) at fixed offsets
        q = np.concatenate([q, true_q, true_q[: 40 + 30 * trial]])
        vids = np.concatenate([vids, np.full(len(true_q), 7), np.full(40 + 30 * trial, 123)])
        ref_t = np.concatenate([ref_t, 100 + true_q * 0.2, 900 + true_q[: 40 + 30 * trial] * 0.2 * 1.04])
        mirrored = np.zeros(len(q), bool)
        mirrored[-(40 + 30 * trial):] = True
        cands = Candidates(q, q * 0.2, vids, ref_t, rng.integers(0, 15, len(q)).astype(np.int32), mirrored)
        every = exhaustive(cands, 14)
        for limit in (1, 8, 12):
            assert hypotheses(cands, 14, limit=limit) == every[:limit]
        assert hypotheses(cands, 14, limit=8)[0].video_id == 7
