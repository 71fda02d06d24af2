"""Other library videos that hold the footage a line points at: not chance evidence.

The chance model reads how often unrelated footage comes as close to a suspect frame as its hit
from the frame's neighbours in the library's other videos (`chance.density`). A studio library
holds several versions of one film (HD and SD masters, a dubbed or a cut version, a trailer): a
copy of it is as close to every version as to the one being verified, and counting those as
look-alikes made its chance huge (three more versions of a clip in a library of eight: 13 of 63
copies lost). A video holds the same footage when SAME_ROWS of the reference's rows along the
line (not near-blank) have a row of it within SAME_BITS, at one time offset: a look-alike is close
now and then, a version frame after frame in step.
"""
from __future__ import annotations

import numpy as np

from .hamming import nearest, popcount_distances

SAME_BITS = 4  # a row of another video this close to a reference row shows the same picture
SAME_QUALITY = 30  # near-blank rows (black, a fade) are alike in every video: not read
SAME_ROWS = 3  # rows in step that make it the same footage
STEP_TOL = 1.0  # s: rows are in step when their time offsets agree this closely
MAX_ROWS = 200  # reference rows read along a line
MAX_CHECKED = 8  # other videos compared with the reference per line
SHADOW_BITS = 3  # a version is about as close to a suspect row as the reference is ...
SHADOW_SHARE = 0.5  # ... on this share of the rows the reference is near


def reference_rows(ref, quality: np.ndarray | None, start: float, end: float) -> np.ndarray:
    """Whole-picture rows of `ref` between `start` and `end` s that are not near-blank (at most
    MAX_ROWS, evenly spread)."""
    rows = (ref.times >= start) & (ref.times <= end) & ref.usable
    if ref.views is not None:
        rows &= ref.views == 0
    if quality is not None:
        rows &= quality >= SAME_QUALITY
    rows = np.nonzero(rows)[0]
    return rows[np.linspace(0, len(rows) - 1, MAX_ROWS).astype(int)] if len(rows) > MAX_ROWS else rows


def holds(ref, rows: np.ndarray, other) -> bool:
    """Whether `other` (a verify.Reference) holds the footage of `ref`'s `rows`."""
    if len(rows) < SAME_ROWS or not len(other.times):
        return False
    whole = np.nonzero(other.usable & (other.views == 0 if other.views is not None else True))[0]
    if len(whole) == 0:
        return False
    j, d = nearest(ref.codes[rows], other.codes[whole])  # in chunks: a 2 h version is 36,000 rows
    close = d <= SAME_BITS
    if close.sum() < SAME_ROWS:
        return False
    offsets = np.sort(other.times[whole[j[close]]] - ref.times[rows[close]])
    in_step = np.searchsorted(offsets, offsets + 2 * STEP_TOL, "right") - np.arange(len(offsets))
    return int(in_step.max()) >= SAME_ROWS


def suspects(dist: np.ndarray, vids: np.ndarray, rows: np.ndarray, video_id: int, radius: int) -> np.ndarray:
    """Other videos worth the check (at most MAX_CHECKED, most often first): on SHADOW_SHARE of
    `rows` where the reference is among a suspect row's neighbours within `radius`, they are too,
    within SHADOW_BITS of it. A version follows the reference at every frame, however edited the
    copy (the test is then on the references: `holds`); unrelated footage only now and then."""
    d, v = dist[rows], vids[rows]
    own = np.where(v == video_id, d, radius + 1).min(axis=1, initial=radius + 1)
    on = own <= radius
    if on.sum() < SAME_ROWS:
        return np.zeros(0, np.int64)
    d, v, own = d[on], v[on], own[on]
    r, c = np.nonzero((v >= 0) & (v != video_id) & (d <= own[:, None] + SHADOW_BITS))
    if not len(r):
        return np.zeros(0, np.int64)
    ids, counts = _rows_per_video(r, v[r, c])
    keep = counts >= max(SAME_ROWS, SHADOW_SHARE * len(own))
    ids, counts = ids[keep], counts[keep]
    return ids[np.argsort(-counts, kind="stable")[:MAX_CHECKED]]


def _rows_per_video(rows: np.ndarray, videos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(video ids, how many distinct `rows` have a hit in each) for hits (rows[i], videos[i])."""
    width = int(videos.max()) + 1
    return np.unique(np.unique(rows.astype(np.int64) * width + videos) % width, return_counts=True)


SAME_SHARE = 0.25  # share of a video's sampled rows near-identical to another's: the same footage


def sharing_pairs(codes: np.ndarray, video_ids: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
    """(n, n) bool: rows of two videos that hold the same footage, read off a sample of their rows
    (`codes`, `video_ids`; `d` their distances, when computed): SAME_SHARE of either video's rows
    have a row of the other within SAME_BITS (of 64). The library-wide null is not measured on those."""
    d = popcount_distances(codes, codes) if d is None else d
    ids, vid = np.unique(video_ids, return_inverse=True)
    nv = len(ids)
    i, j = np.nonzero((d <= round(SAME_BITS * codes.shape[1] * 8 / 64)) & (vid[:, None] != vid[None, :]))
    if not len(i):
        return np.zeros(d.shape, bool)
    row_in = np.unique(i.astype(np.int64) * nv + vid[j])  # row i has a near-identical row in video b
    a, b = vid[row_in // nv], row_in % nv
    pair, count = np.unique(a * nv + b, return_counts=True)
    share = count / np.bincount(vid, minlength=nv)[pair // nv]
    hit = pair[(share >= SAME_SHARE) & (count >= SAME_ROWS)]
    videos = np.zeros((nv, nv), bool)
    videos[hit // nv, hit % nv] = videos[hit % nv, hit // nv] = True
    return videos[vid[:, None], vid[None, :]]


SEARCHED_ROWS = 300  # rows of a new video searched (spread over it) for other videos holding its footage


def versions_of(library, video_id: int) -> list[int]:
    """Other videos of `library` that share footage with `video_id` (another version of the film,
    its trailer, the film a trailer was cut from): `holds` either way, among the videos its rows
    find within SAME_BITS most often (at most MAX_CHECKED)."""
    from .matcher import MatchConfig  # matcher, verify -> chance -> this module
    from .verify import Reference

    min_quality = MatchConfig().min_quality

    def reference(vid: int):
        stream, video = library.stream(vid), library.video(vid)
        return None if stream is None or video is None else Reference.from_stream(stream, video.duration, min_quality)

    ref = reference(video_id)
    if ref is None:
        return []
    rows = reference_rows(ref, ref.quality, -np.inf, np.inf)
    searched = np.nonzero(ref.usable & (ref.quality >= SAME_QUALITY) & (ref.views == 0))[0]
    if len(searched) > SEARCHED_ROWS:
        searched = searched[np.linspace(0, len(searched) - 1, SEARCHED_ROWS).astype(int)]
    if len(searched) < SAME_ROWS:
        return []
    dist, vids, _ = library.search(ref.codes[searched], MAX_CHECKED)
    near = (dist <= SAME_BITS) & (vids >= 0) & (vids != video_id)
    r, c = np.nonzero(near)
    if not len(r):
        return []
    ids, counts = _rows_per_video(r, vids[r, c])
    ids, counts = ids[counts >= SAME_ROWS], counts[counts >= SAME_ROWS]
    found = []
    for vid in ids[np.argsort(-counts, kind="stable")][:MAX_CHECKED]:
        other = reference(int(vid))
        if other is not None and (holds(ref, rows, other)
                                  or holds(other, reference_rows(other, other.quality, -np.inf, np.inf), ref)):
            found.append(int(vid))
    return sorted(found)
