"""Evidence PNGs: real clip against itself, a moved reference, frame grabbing and pair picking."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from fp.index import evidence
from fp.index.evidence import evidence_name, grab_frames, pick_pairs, slug, timecode, write_evidence
from fp.index.matcher import Match, MatchResult

CLIP = Path(__file__).resolve().parents[1] / "data" / "sample_clips" / "bbb_first60s.mp4"

pytestmark = pytest.mark.skipif(not CLIP.exists(), reason="sample clip missing")


def _match(ref_path, title="Big Buck Bunny", mirrored=False, times=(4.0, 11.0, 19.5, 26.0, 33.0, 41.0, 48.0)):
    pairs = tuple((t, t, i % 3) for i, t in enumerate(times))
    return Match(
        title=title, ref_path=str(ref_path), video_id=1, score=25.0, confidence=0.999999, chance=1e-6,
        query_span=(times[0], times[-1]), ref_span=(times[0], times[-1]), speed=1.0, offset=0.0,
        mirrored=mirrored, matched_frames=len(pairs), query_coverage=0.7, ref_coverage=0.7,
        mean_distance=1.0, pairs=pairs,
    )


def _first_row_boxes(png: np.ndarray):
    """Pixel boxes (y0, y1, x0, x1) of the first suspect and reference thumbnails, inset by 4 px."""
    dpi = png.shape[1] / evidence.PAGE_WIDTH_IN
    top = (evidence.HEADER_IN + evidence.COLUMN_TITLE_IN) * dpi
    width = evidence.THUMB_WIDTH_IN * dpi
    height = width * 360 / 640  # the clip is 16:9
    left_q = evidence.MARGIN_IN * dpi
    left_r = left_q + width + evidence.THUMB_GAP_IN * dpi
    y0, y1 = int(top) + 4, int(top + height) - 4
    return (y0, y1, int(left_q) + 4, int(left_q + width) - 4), (y0, y1, int(left_r) + 4, int(left_r + width) - 4)


def test_one_png_per_match_with_real_thumbnails(tmp_path):
    result = MatchResult(
        query=str(CLIP), verdict="match",
        matches=(_match(CLIP, "Big Buck Bunny (2008)"), _match(tmp_path / "moved.mp4", "Gone: moved/away?", True)),
    )
    paths = write_evidence(result, tmp_path / "evidence")
    tag = evidence_name(str(CLIP), 1, result.matches[0]).split("_")[2]
    assert len(tag) == 8
    assert [p.name for p in paths] == [f"bbb_first60s_{tag}_1_Big-Buck-Bunny-2008.png", f"bbb_first60s_{tag}_2_Gone-moved-away.png"]
    for p in paths:
        assert p.exists() and p.stat().st_size > 50_000
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    found = cv2.imread(str(paths[0]))
    assert found is not None and found.shape[1] > 800 and found.shape[0] > 600
    box_q, box_r = _first_row_boxes(found)
    suspect = found[box_q[0]:box_q[1], box_q[2]:box_q[3]].astype(float)
    reference = found[box_r[0]:box_r[1], box_r[2]:box_r[3]].astype(float)
    assert suspect.std() > 20 and reference.std() > 20  # real pictures, not blank panels
    assert np.abs(suspect - reference).mean() < 8  # the clip against itself: same frame both sides

    moved = cv2.imread(str(paths[1]))
    assert moved is not None and moved.shape[1] > 800
    box_q, box_r = _first_row_boxes(moved)
    assert moved[box_q[0]:box_q[1], box_q[2]:box_q[3]].std() > 20
    placeholder = moved[box_r[0]:box_r[1], box_r[2]:box_r[3]]
    assert placeholder.std() < 20  # flat grey with one line of text
    assert 150 < placeholder.mean() < 200


def test_two_suspects_with_one_file_name_get_their_own_evidence(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").symlink_to(CLIP)
    match = _match(CLIP, times=(4.0, 11.0, 19.5))
    written = [write_evidence(MatchResult(str(tmp_path / f / "clip.mp4"), "match", matches=(match,)), tmp_path / "ev", rows=2)
               for f in ("a", "b")]
    assert len(written[0]) == len(written[1]) == 1 and written[0][0] != written[1][0]
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == sorted([written[0][0].name, written[1][0].name])
    assert all(p.name.startswith("clip_") for p in written[0] + written[1])  # still named for the suspect
    # the name depends on the absolute path only: the same file named relatively gets the same name
    assert evidence_name(os.path.relpath(tmp_path / "a" / "clip.mp4"), 1, match) == written[0][0].name


def test_grabbed_frames_match_sequential_decode():
    import av

    times = [0.0, 7.5, 12.25, 30.0, 52.0]
    grabbed, error = grab_frames(CLIP, list(reversed(times)))  # any order in, same order out
    assert error is None
    grabbed = list(reversed(grabbed))
    expected = {}
    with av.open(str(CLIP)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        want = iter(times)
        t = next(want)
        start = None
        for frame in container.decode(stream):
            start = frame.time if start is None else start
            if frame.time - start >= t - 1 / (2 * fps):
                expected[t] = frame.reformat(width=320, height=180, format="rgb24").to_ndarray()
                t = next(want, None)
                if t is None:
                    break
    for t, got in zip(times, grabbed):
        assert got is not None and got.shape == (180, 320, 3)
        diff = np.abs(got.astype(int) - expected[t].astype(int)).mean()
        assert diff < 2, f"frame at {t}s differs from sequential decode (mean abs diff {diff:.1f})"


def test_missing_and_bad_files_give_no_frames_and_a_reason(tmp_path):
    frames, error = grab_frames(tmp_path / "nope.mp4", [1.0, 2.0])
    assert frames == [None, None] and error == "file not available"
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    frames, error = grab_frames(junk, [1.0])
    assert frames == [None] and error


def test_frame_past_the_end_does_not_raise():
    frames, error = grab_frames(CLIP, [10.0, 5000.0])
    assert error is None and frames[0] is not None and frames[1] is None  # a placeholder, never the wrong frame


def test_pick_pairs_spreads_over_span_and_prefers_close_frames():
    pairs = [(t / 2, t / 2 + 3, 9) for t in range(200)] + [(50.2, 53.2, 1)]
    chosen = pick_pairs(pairs, 5)
    assert len(chosen) == 5
    qs = [q for q, _, _ in chosen]
    assert qs == sorted(qs) and qs[0] < 20 and qs[-1] > 80
    assert (50.2, 53.2, 1) in chosen
    assert pick_pairs(pairs[:3], 5) == sorted(pairs[:3])
    assert pick_pairs([], 5) == []


def test_names_and_timecodes():
    assert slug("Big Buck Bunny: Director's Cut (2008)/x") == "Big-Buck-Bunny-Director-s-Cut-2008-x"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert timecode(3725.4) == "1:02:05"
    assert timecode(59.999, 2) == "0:01:00.00"
