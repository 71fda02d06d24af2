"""Match suspect videos against the library: search, align, verify, decide."""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Iterator

import numpy as np

from fp.fingerprint.decode import moving_streams
from fp.fingerprint.hashers import get_hasher
from fp.fingerprint.pipeline import QUERY, TURN_EVERY, FingerprintConfig, decode_warnings, fingerprint_video
from fp.fingerprint.normalise import TURNS, VIEWS, ZOOMED_VIEW, ZOOMS, describe_view
from fp.fingerprint.types import INNER_VIEW, INSET_VIEW, PHASE_VIEW, Fingerprint, turned, whole_picture

from . import inner_check
from .align import Candidates, Hypothesis, hypotheses, same_line
from .library import Library
from .chance import LOCAL, TOL, LibraryShape, density, group_keys, null_cdf, prior_cdf
from .same_footage import SAME_QUALITY, holds, reference_rows, suspects
from .packed import Stream
from .verify import Reference, Verified, closest_in_window, closest_views, span_line, verify

log = logging.getLogger(__name__)

TURN_GAIN = 1 / 16  # share of the bits a turned view must bring its hits closer than the untouched picture
ZOOM_GAIN = 1 / 32  # ... and a zoomed-out one (a 25-30 % crop gains 2-4 bits of 64, a look-alike 0)
ELSEWHERE = 4 / 64  # share of the bits a row's own nearest hash of the video must beat the line's by (see _elsewhere)
ZOOM_TESTS = 2  # zoomed-out views verified per line: the centred one and the place the untouched picture votes
PHASE_TESTS = 2  # a line read again with the half-step frames counts as two tests (chance x 2) ...
HALF_GAIN = 2 / 64  # ... and counts only when its frames come this share of the bits closer (median)
CENTRED = ZOOMS[0]  # the zoom placed about the centre
ZOOM_SEARCH_SHARE = 0.5  # of max_chance spent on lines the zoomed views find by search, over all of them
ZOOM_SEARCH_SPAN = 3.0  # s of suspect a line the zoomed views find by search must cover (min_span for the rest)
GIVE_UP = 1.0  # chance (expected chance matches) past which a rejected line's backgrounds are not computed
FINE_SCAN = 5.0  # s either side of a voted line where the fine hash looks for the moment it shows
STEP = 0.2  # s: offsets closer than a sampled frame are one line
SCHEMA_VERSION = 1  # of MatchResult.to_dict() (a line of `fp match --json`); raised when a field changes meaning


_FIND = object()  # verify_near's `moment` default: look for it


def verify_near(h: Hypothesis, times, codes, keys, rows, ref: Reference, radius: int, cdf, density=None,
                scan: bool = False, moment=_FIND, give_up: float | None = None) -> Verified:
    """verify() on the voted line and, when `codes` find the moment within FINE_SCAN of it, there
    too; the better of the two. The line was voted by other, looser hits (in a still shot the
    search hash sees every moment alike, a tilted copy's untouched picture hits loosely), so it
    may be seconds off; every such offset is among the lines LibraryShape.hypotheses counts.
    `moment`: moment_offset's answer for these arguments when the caller has it already."""
    v = verify(h, times, codes, keys, rows, ref, radius, cdf, density, give_up)
    offset = moment_offset(h, times, codes, rows, ref, radius, scan) if moment is _FIND else moment
    if offset is not None:
        moved = verify(replace(h, offset=offset), times, codes, keys, rows, ref, radius, cdf, density, give_up)
        v = moved if moved.p_value < v.p_value else v
    return v


def moment_offset(h: Hypothesis, times, codes, rows, ref: Reference, radius: int, scan: bool = False) -> float | None:
    """The offset at which `codes` find the moment within FINE_SCAN of the voted line (the median
    of their hits there), when it is more than TOL away from it; else None. `scan`: each hit's
    closest moment proposes an offset (to a frame step) and the one whose line brings the hits
    closest wins (in a slow pan the moments scatter by a second or more; their median can miss)."""
    d, t, _ = closest_in_window(times, codes, ref, h.speed, h.offset, tol=FINE_SCAN)
    near = rows & (d <= radius)
    if near.sum() < 2:
        return None
    proposed = t[near] - h.speed * times[near]
    best = float(np.median(proposed))
    if scan:
        best_score = -1
        for offset in sorted({best, *(np.round(proposed / STEP) * STEP).tolist()}, key=lambda o: abs(o - best)):
            score = int(np.clip(radius + 1 - closest_in_window(times[near], codes[near], ref, h.speed, offset)[0], 0, None).sum())
            if score > best_score:
                best, best_score = offset, score
    return best if abs(best - h.offset) > TOL else None


@dataclass(frozen=True)
class MatchConfig:
    radius: int | None = None  # max Hamming distance of a frame hit (default: 14 per 64 bits)
    k: int = 48  # neighbours fetched per query frame
    max_matches: int = 5  # reference titles reported per suspect (the most certain first) ...
    max_lines: int = 50  # ... and lines of each: the excerpts of a "best scenes" compilation
    max_chance: float = 0.003  # accept when the expected number of chance matches this strong is below this
    # Search the suspect's zoomed-out pictures (normalise.ZOOMS) too, not only verify with them: more
    # deep crops found; its rules were read off the draws and the calibration (RESULTS.md "Ninth pass"); off.
    search_zooms: bool = False
    # Read a suspect file of 30 s or less again when it matched nothing: its strongest refused line
    # is checked with the inner view from the pixels of both files (index/inner_check.py: deep crops
    # of shots where little moves); its false-pass rate is measured, not modelled (RESULTS.md
    # "Twenty-first pass", "Twenty-second pass"). Needs the reference's file where the library says.
    inner_check: bool = True
    # A line whose hits average this share of the hash's bits or more (10 of 64) is look-alike level:
    # footage of one set, one style, frames that all sit near the radius. Held-out calibration draws
    # found such lines from unrelated footage at chance 1e-4 to 3e-3 (RESULTS.md "Tenth pass"), so
    # it is declared only at `lookalike_chance` or below.
    lookalike_share: float = 10 / 64
    lookalike_chance: float = 1e-4
    # So is a line whose hit frames are near-blank on average (quality under this: a mean gradient
    # under 3 grey levels, a dark card or a fade): unrelated rows that faint met a library hash
    # within the radius 1.4-1.9 times as often as others (RESULTS.md "Fourteenth pass").
    blank_quality: int = 30
    min_keys: int = 2  # distinct query shots that must hit
    min_span: float = 1.5  # seconds of aligned copy a match needs: a same-set look-alike of 1.4 s
    min_frames: int = 6  # and matched frames (5 fps; its 5 frames reached chance 1.3e-4 on the widened negatives)
    min_quality: int = 8
    verify_top: int = 8
    fine_radius: int | None = None  # max distance of a fine-hash (256-bit) hit (default: 12 per 64 bits,
    #  48: other shots of one film reached 50 and were matched at chance 1e-4, a fresh draw of the
    #  widened benchmark; copies of still shots hit at 12-36)

    def radius_for(self, nbits: int) -> int:
        return self.radius if self.radius is not None else round(14 * nbits / 64)

    def fine_radius_for(self, nbits: int) -> int:
        return self.fine_radius if self.fine_radius is not None else round(12 * nbits / 64)


@dataclass(frozen=True)
class Match:
    title: str
    ref_path: str
    video_id: int
    score: float  # -log10 of the chance probability for this one alignment
    confidence: float  # 1 - expected number of chance matches this strong in this library
    chance: float  # expected number of chance matches this strong in this library
    query_span: tuple[float, float]
    ref_span: tuple[float, float]
    speed: float
    offset: float
    mirrored: bool
    matched_frames: int
    query_coverage: float
    ref_coverage: float
    mean_distance: float
    metadata: dict = field(default_factory=dict)
    pairs: tuple = ()  # (query_t, ref_t, distance) of hit frames, for evidence
    hash_bits: int = 64  # the hash that verified the match (distances are in its bits)
    evidence: str | None = None  # path of its evidence PNG, when one was written
    view: int = 0  # the suspect view whose hashes verified it (fingerprint/types.py: 0 the whole picture)
    stream: int | None = None  # the suspect's video stream, when a file holds several

    @property
    def seen_as(self) -> str:
        """What verified it, for a reviewer: the view, and the hash when not the search hash."""
        return (describe_view(self.view) + (f" ({self.hash_bits}-bit hash)" if self.hash_bits != 64 else "")
                + (f" in video stream #{self.stream}" if self.stream is not None else ""))

    def to_dict(self, with_pairs: bool = False) -> dict:
        out = asdict(self)
        out["query_span"] = [round(x, 3) for x in self.query_span]
        out["ref_span"] = [round(x, 3) for x in self.ref_span]
        for key in ("score", "speed", "offset", "query_coverage", "ref_coverage", "mean_distance"):
            out[key] = round(out[key], 4)
        out["confidence"] = round(self.confidence, 6)
        out["chance"] = float(f"{self.chance:.3g}")
        out["seen_as"] = self.seen_as
        if not with_pairs:
            out.pop("pairs")
        else:
            out["pairs"] = [[round(a, 3), round(b, 3), int(c)] for a, b, c in self.pairs]
        return out


@dataclass(frozen=True)
class MatchResult:
    query: str
    verdict: str  # "match" | "no_match" | "error"
    error: str | None = None
    matches: tuple[Match, ...] = ()
    duration: float = 0.0
    frames: int = 0
    elapsed: float = 0.0
    listing: dict = field(default_factory=dict)
    nearest: dict | None = None  # the strongest rejected alignment: video_id, ref_path, chance ("chance_at_least": a lower bound), its line (speed, offset, mirrored)
    partial: bool = False  # only part of the suspect file decoded (the reason is in warnings)
    warnings: tuple[str, ...] = ()

    def to_dict(self, with_pairs: bool = False) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "query": self.query,
            "verdict": self.verdict,
            "error": self.error,
            "partial": self.partial,
            "warnings": list(self.warnings),
            "claimed_title": self.listing.get("claimed_title"),
            "matches": [m.to_dict(with_pairs) for m in self.matches],
            "duration": round(self.duration, 3),
            "frames": self.frames,
            "elapsed": round(self.elapsed, 3),
            **({"listing": self.listing} if self.listing else {}),
            **({"nearest": self.nearest} if self.nearest else {}),
        }


@dataclass(frozen=True, eq=False)
class QueryPart:
    """One query view ready for verification: its fingerprint, shot keys, usable rows, every row's
    raw neighbours in the whole library (per mirror flag) and the number of hypotheses tried."""

    fpr: Fingerprint
    keys: np.ndarray
    usable: np.ndarray
    neighbours: dict
    n_hyp: float
    turned: Fingerprint | None = None  # the whole picture turned back (views TURNED_VIEW + i), view 0 only
    cands: Candidates | None = None  # the frame hits the hypotheses were voted from (a video's other lines)
    between: Fingerprint | None = None  # the whole picture half a step after each sample (PHASE_VIEW), view 0 only

    @cached_property
    def half_step(self) -> np.ndarray:
        """Per row: the row of `between` taken half a step after it (-1: none)."""
        out = np.full(len(self.fpr), -1, np.int64)
        if self.between is None or not len(self.between) or not len(self.fpr):
            return out
        before = np.searchsorted(self.fpr.times, self.between.times, "right") - 1
        ok = before >= 0
        out[before[ok]] = np.nonzero(ok)[0]
        return out

    @cached_property
    def fine_keys(self) -> np.ndarray:
        """Events by the fine hash (made once, when a hypothesis first needs the fine check):
        frames of a still shot the search hash sees as one picture are different moments to
        the fine hash (people move, the shot does not)."""
        return group_keys(self.fpr.fine_codes, times=self.fpr.times)

    @cached_property
    def turns(self) -> list[tuple[Fingerprint, np.ndarray, np.ndarray]]:
        """Per turn angle: its rows, their events, and the row of this view at the same
        moment (whose library neighbours stand in for theirs: the turned rows are not searched)."""
        if self.turned is None or not len(self.turned) or not len(self.fpr):
            return []
        out = []
        for view in np.unique(self.turned.views):
            rows = self.turned.select(self.turned.views == view)
            same = np.clip(np.searchsorted(self.fpr.times, rows.times), 0, len(self.fpr) - 1)
            out.append((rows, group_keys(rows.codes, times=rows.times), same))
        return out


@dataclass(frozen=True)
class Check:
    """What verifying the hypothesis of rank `rank` found: a match, or a rejected alignment
    (`near`, a candidate for MatchResult.nearest; None when nothing aligned)."""

    rank: float  # order of the checks (a video's other lines, voted after its match, rank between)
    match: Match | None = None
    near: dict | None = None
    chance: float = math.inf


class Matcher:
    """Holds the library's derived state (index, null distribution) across many queries."""

    def __init__(self, library: Library, config: MatchConfig = MatchConfig(), query_config: FingerprintConfig | None = None):
        self.library = library
        self.config = config
        self.query_config = query_config or replace(QUERY, hasher=library.config.hasher)
        self.nbits = library.nbits
        self.n_hashes = library.hashes  # loads (and catches up) the FAISS index once
        self.radius = config.radius_for(self.nbits)
        self.videos = {v.id: v for v in library.videos() if v.enabled}  # disabled titles are never matched
        self._enabled_ids = np.fromiter(self.videos, np.int64, len(self.videos))
        self.shape = LibraryShape(len(self.videos), sum(v.duration for v in self.videos.values()), self.n_hashes)
        self._cdf = None
        self._fine_cdf = None
        self._rows: dict[tuple[str, int], Reference] = {}  # per (hash, video)
        fine = self.query_config.fine_hasher
        self.fine_nbits = get_hasher(fine).nbits if fine and library.has_fine else 0
        self.fine_radius = self.config.fine_radius_for(self.fine_nbits) if self.fine_nbits else 0
        # A line whose library floor alone is past this chance is rejected without its backgrounds
        # (verify's give_up); its reported chance is then a lower bound, above every threshold.
        self.give_up = max(GIVE_UP, self.config.max_chance)

    @property
    def cdf(self) -> np.ndarray:
        if self._cdf is None:
            codes, vids = self.library.null_sample("search")
            self._cdf = null_cdf(codes, vids, self.nbits) if len(codes) else prior_cdf(self.nbits)
        return self._cdf

    @property
    def fine_cdf(self) -> np.ndarray:
        if self._fine_cdf is None:
            codes, vids = self.library.null_sample("fine")
            self._fine_cdf = null_cdf(codes, vids, self.fine_nbits) if len(codes) else prior_cdf(self.fine_nbits)
        return self._fine_cdf

    def _fine(self, video_id: int) -> Reference:
        """One reference's whole-picture rows with their fine hashes."""
        return self._cached("fine", video_id)

    def _verify_fine(self, h, part: QueryPart, ok: np.ndarray) -> Verified | None:
        """The same hypothesis checked with the larger hash, which tells apart moments of one
        static shot that the search hash sees as alike (a 5 s talking-heads reference); its
        events are the fine hash's own (`QueryPart.fine_keys`)."""
        fpr = part.fpr
        if not self.fine_nbits or fpr.fine_codes is None or fpr.fine_codes.shape[1] * 8 != self.fine_nbits:
            return None
        ref = self._fine(h.video_id)
        if len(ref.times) == 0:
            return None
        qcodes = fpr.fine_mirror_codes if h.mirrored else fpr.fine_codes
        fine_keys = part.fine_keys
        rows = ok & fpr.fine_rows
        return verify_near(h, fpr.times, qcodes, fine_keys, rows, ref, self.fine_radius, self.fine_cdf,
                           give_up=self.give_up / part.n_hyp)

    def _verify_half_step(self, h, v: Verified, part: QueryPart, ok: np.ndarray, near_p) -> tuple[Verified, Fingerprint] | None:
        """The line `v` verified again on the frames half a step after the samples. References
        are sampled at 5 a second too: in fast motion (a pan, a flickering pattern) a copy cut at
        another phase sits up to half a step from every stored frame, 8-26 bits off where a frame
        that lands on one is 0-6 bits off. The hits' times are the stored frames', so the line
        cannot tell which phase lands: both are read, every frame of one phase, never picked by
        distance, so an unrelated frame's chance is what it was; the better costs PHASE_TESTS."""
        fpr, between, half = part.fpr, part.between, part.half_step
        take = half >= 0
        if take.sum() < 2:
            return None

        def swap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            out = a.copy()
            out[take] = b[half[take]]
            return out

        rows = replace(fpr, times=swap(fpr.times, between.times), codes=swap(fpr.codes, between.codes),
                       mirror_codes=swap(fpr.mirror_codes, between.mirror_codes), quality=swap(fpr.quality, between.quality))
        times, codes = rows.times, rows.mirror_codes if h.mirrored else rows.codes
        ok = ok & (rows.quality >= self.config.min_quality)
        ref = self._video(h.video_id)
        line = replace(h, speed=v.speed, offset=v.offset)
        half_v = verify(line, times, codes, part.keys, ok, ref, self.radius, self.cdf, near_p,
                        self.give_up / (part.n_hyp * PHASE_TESTS))
        # Landing on the stored frames brings a fast copy's frames closer nearly everywhere
        # (a flickering pattern: 10 -> 6 bits in the mean); on a look-alike line at the radius
        # the other phase only reshuffles which frames fall inside it.
        hit = half_v.hit
        if hit.sum() < 2:
            return None
        plain = closest_in_window(fpr.times, fpr.mirror_codes if h.mirrored else fpr.codes, ref, half_v.speed, half_v.offset)[0]
        judged = ok & take & (times >= times[hit].min()) & (times <= times[hit].max())
        cap = self.radius + 1
        if np.median(np.minimum(plain, cap)[judged] - np.minimum(half_v.distance, cap)[judged]) < self.nbits * HALF_GAIN:
            return None
        return half_v, rows

    def _verify_turned(self, h, part: QueryPart, used: np.ndarray | None) -> tuple[Verified, Fingerprint] | None:
        """The hypothesis checked with the suspect's picture turned back by each of TURNS or
        zoomed back out (centred, and at a voted place: _placed_zoom). A tilted or deeply
        cropped copy hits the stored views only loosely, so its one shot is weak evidence.
        Returns the best of them and its rows. Each is
        one more test of the alignment: the caller counts len(TURNS) + ZOOM_TESTS of them. One
        counts only when it brings its hits TURN_GAIN (a zoom: ZOOM_GAIN) closer than the
        untouched picture on the same line."""
        ref = self._video(h.video_id)
        best = None
        footage = (h.video_id, *self._same_footage(part, h, part.usable))
        for rows, keys, same in self._placed_zoom(h, part, ref):
            zoom = rows.views[0] >= ZOOMED_VIEW  # zoomed out, not turned
            gain = ZOOM_GAIN if zoom else TURN_GAIN
            ok = rows.quality >= self.config.min_quality
            if used is not None:
                ok &= ~used[same]
            if ok.sum() < 2:
                continue
            codes = rows.mirror_codes if h.mirrored else rows.codes
            plain = (part.fpr.mirror_codes if h.mirrored else part.fpr.codes)[same]

            def gains(speed: float, offset: float, screen: bool = False, d: np.ndarray | None = None) -> bool:
                # A tilted copy comes closer on nearly every frame turned back (6-13 of 64
                # bits); a look-alike one turn happens to fit gains a bit or two, and more only
                # on the frames its hits were picked for. So the gain is read over every frame
                # from the first hit to the last; the screen reads the frames either picture hits.
                if d is None:  # a verified line brings its own (Verified.distance)
                    d = closest_in_window(rows.times, codes, ref, speed, offset)[0]
                d0 = closest_in_window(rows.times, plain, ref, speed, offset)[0]
                hit = ok & (d <= self.radius)
                if len(np.unique(keys[hit])) < self.config.min_keys:
                    return False
                if screen:
                    judged = ok & (np.minimum(d, d0) <= self.radius)
                else:
                    t = rows.times
                    judged = ok & (t >= t[hit].min()) & (t <= t[hit].max())
                return bool(np.median((d0 - d)[judged]) >= self.nbits * gain)

            # The cheap screen first, on the voted line and the moment nearby: the full
            # verification (backgrounds) of every turn of every unrelated line of a 2 h
            # suspect cost 2.5x the whole match.
            # A deep crop's untouched hits are looser still: the speed they vote may be off
            # (plain speed is tried too: most copies play at speed 1, and every speed is among
            # the lines counted) and so may the moment nearby (scanned). Only for the zoom: on
            # the turns it found nothing more and doubled their cost on a 2 h suspect.
            near_p = self._density(part, h, part.usable, same, footage)
            for line in (h,) if h.speed == 1.0 or not zoom else (h, replace(h, speed=1.0)):
                moved = moment_offset(line, rows.times, codes, ok, ref, self.radius, scan=zoom)
                if not gains(line.speed, line.offset, True) and (moved is None or not gains(line.speed, moved, True)):
                    continue
                v = verify_near(line, rows.times, codes, keys, ok, ref, self.radius, self.cdf, near_p, scan=zoom, moment=moved,
                                give_up=self.give_up / (part.n_hyp * (len(TURNS) + ZOOM_TESTS)))
                if (best is None or v.p_value < best[0].p_value) and gains(v.speed, v.offset, d=v.distance):
                    best = (v, rows)
        return best

    def _placed_zoom(self, h, part: QueryPart, ref: Reference) -> list:
        """part.turns with at most two of the zoomed-out views (normalise.ZOOMS): the centred one,
        and the one placed where the stored 15 % crop lies that the untouched picture comes
        closest to most often on this line (a corner or an edge's middle), when such a crop
        wins that vote. A deep crop taken near an edge is nearest that place's stored view; the
        vote reads the untouched rows only, so the placement is not picked by the rows it is
        then tested with (ZOOM_TESTS)."""
        turns = [t for t in part.turns if t[0].views[0] < ZOOMED_VIEW]
        zooms = {ZOOMS[int(t[0].views[0]) - ZOOMED_VIEW]: t for t in part.turns if t[0].views[0] >= ZOOMED_VIEW}
        if len(zooms) <= 1:
            return turns + list(zooms.values())
        places = [CENTRED]
        rows = part.fpr
        ok = rows.quality >= self.config.min_quality
        views = closest_views(rows.times[ok], (rows.mirror_codes if h.mirrored else rows.codes)[ok], ref, h.speed, h.offset)
        votes = np.bincount(views[(views > 0) & (views < len(VIEWS))], minlength=len(VIEWS))  # the crop views
        if votes.any():
            _, ox, oy = VIEWS[int(votes.argmax())]
            if (ox, oy) != CENTRED:
                places.append((1.0 - ox if h.mirrored else ox, oy))  # a mirrored suspect's place is on the other side
        return turns + [zooms[at] for at in places if at in zooms]

    def _video(self, video_id: int) -> Reference:
        """Every hash of one reference video."""
        return self._cached("search", video_id)

    def _cached(self, kind: str, video_id: int) -> Reference:
        """One video's stream of `kind` as a Reference, kept for the next query."""
        key = (kind, video_id)
        if key not in self._rows:
            if len(self._rows) > 64:
                self._rows.clear()
            stream = self.library.stream(video_id, kind)
            if stream is None:
                stream = Stream.empty(self.fine_nbits // 8 if kind == "fine" else self.nbits // 8)
            self._rows[key] = Reference.from_stream(stream, self.videos[video_id].duration, self.config.min_quality)
        return self._rows[key]

    def _density(self, part: "QueryPart", h: Hypothesis, ok: np.ndarray, rows: np.ndarray | None = None, same=None):
        """chance.density for the line `h` (on `rows` of the query's neighbours, default all), not
        counting the reference nor the other videos that hold the footage it points at (`same`,
        default found by _same_footage)."""
        dist, vids = part.neighbours[h.mirrored]
        same = (h.video_id, *self._same_footage(part, h, ok)) if same is None else same
        other = self.n_hashes - sum(self.videos[v].n_search for v in same if v in self.videos)
        return density((dist, vids) if rows is None else (dist[rows], vids[rows]), same, other)

    def _same_footage(self, part: "QueryPart", h: Hypothesis, ok: np.ndarray) -> tuple[int, ...]:
        """Other videos that hold the reference's footage along the line (same_footage.holds),
        among those the query's rows come near most often."""
        dist, vids = part.neighbours[h.mirrored]
        qrows = np.nonzero(ok & (part.fpr.quality >= SAME_QUALITY))[0]
        maybe = suspects(dist, vids, qrows, h.video_id, self.radius)
        if not len(maybe):
            return ()
        ref = self._video(h.video_id)
        pred = h.ref_time(part.fpr.times[qrows])
        rows = reference_rows(ref, ref.quality, float(pred.min()) - TOL, float(pred.max()) + TOL)
        return tuple(int(v) for v in maybe if int(v) in self.videos and holds(ref, rows, self._video(int(v))))

    def match_file(self, path: str | os.PathLike, progress=None) -> MatchResult:
        """Match a video file; a file with several moving video streams has each matched (a copy
        may hide in any of them), its matches saying which."""
        start = time.perf_counter()
        streams = moving_streams(path)
        if len(streams) == 1:
            result = self.match_fingerprint(fingerprint_video(path, self.query_config, progress), query=str(path))
            if self.config.inner_check:
                result = self.inner_rescue(path, result)
        else:
            result = _merged([self.match_fingerprint(fingerprint_video(path, self.query_config, progress, stream=s), query=str(path))
                              for s in streams], streams)
        return replace(result, elapsed=time.perf_counter() - start)

    def match_fingerprint(self, fpr: Fingerprint, query: str | None = None) -> MatchResult:
        """Match the whole picture and, when one was found, a picture-in-picture inset."""
        start = time.perf_counter()
        query = query or fpr.source
        halves = fpr.views == PHASE_VIEW
        between = fpr.select(halves) if halves.any() else None
        fpr = fpr.select(~halves) if halves.any() else fpr
        parts = [fpr.select(fpr.views == view) for view in np.unique(fpr.views[whole_picture(fpr.views)])]
        rows = turned(fpr.views)
        turned_rows = fpr.select(rows) if rows.any() else None
        searched = [(part, len(parts)) for part in parts]
        zooms = [fpr.select(fpr.views == view) for view in np.unique(fpr.views[self._searched(fpr.views) & rows])]
        searched += [(part, len(zooms) / ZOOM_SEARCH_SHARE) for part in zooms]  # a family of tests of their own
        matches: list[Match] = []
        nearest: dict | None = None
        for part, tests in searched:
            whole = part.views[0] == 0
            found, near = self._match_part(part, tests=tests, turned=turned_rows if whole else None, between=between if whole else None)
            for m in found:
                twin = next((x for x in matches if x.video_id == m.video_id and x.mirrored == m.mirrored
                             and abs(x.offset - m.offset) <= 1.0), None)
                if twin is None:
                    matches.append(m)
                elif m.chance < twin.chance:
                    matches[matches.index(twin)] = m
            if near and (nearest is None or near["chance"] < nearest["chance"]):
                nearest = near
        if len(searched) > 1:  # the whole picture, an inset or a zoom over the same frames: one source
            matches = self._drop_lookalikes(matches)
        matches.sort(key=lambda m: (m.chance, -m.matched_frames))
        titles = list(dict.fromkeys(m.video_id for m in matches))[: self.config.max_matches]
        matches = [m for m in matches if m.video_id in titles]
        partial = fpr.meta.get("partial_reason")
        return MatchResult(query, "match" if matches else "no_match", matches=tuple(matches), nearest=None if matches else nearest,
                           duration=fpr.duration, frames=int((fpr.views == 0).sum()), elapsed=time.perf_counter() - start,
                           partial=bool(partial), warnings=decode_warnings(fpr, "matched"))

    def _searched(self, views: np.ndarray) -> np.ndarray:
        """Rows whose hashes are searched: the whole picture and insets, and the zoomed-out
        pictures (`search_zooms`); the turned ones only verify lines."""
        zoomed = (views >= ZOOMED_VIEW) & turned(views)
        return whole_picture(views) | (zoomed if self.config.search_zooms else False)

    def has_candidate(self, fpr: Fingerprint, radius: int | None = None) -> bool:
        """Whether a usable row of `fpr` (or its mirror image) has an enabled reference hash within
        `radius` (default: the matching radius): the first-pass test of triage.py. A fingerprint
        without a usable row cannot tell: True."""
        usable = (fpr.quality >= self.config.min_quality) & self._searched(fpr.views)
        if not usable.any():
            return True
        if self.n_hashes == 0:
            return False
        limit = self.radius if radius is None else radius
        _, neighbours = self._candidates(fpr, usable)
        return any(((vids >= 0) & (dist <= limit)).any() for dist, vids in neighbours.values())

    def _match_part(self, fpr: Fingerprint, tests: float, turned: Fingerprint | None = None,
                    between: Fingerprint | None = None) -> tuple[list[Match], dict | None]:
        """Matches of one query view (rows in time order); `tests` views share the chance budget;
        `turned`: the rows of the picture turned back, `between`: its half-step rows (view 0 only)."""
        usable = fpr.quality >= self.config.min_quality
        if usable.sum() < 2 or self.n_hashes == 0:
            return [], None
        cands, neighbours = self._candidates(fpr, usable)
        keys = group_keys(fpr.codes, times=fpr.times)
        n_hyp = self.shape.hypotheses(fpr.duration, views_tried=tests, hashes_tried=2 if self.fine_nbits else 1)
        part = QueryPart(fpr, keys, usable, neighbours, n_hyp, turned, cands, between)
        found = hypotheses(cands, self.radius, limit=self.config.verify_top)
        matches: list[Match] = []
        nearest: dict | None = None
        titles: set[int] = set()
        for check in self.check_hypotheses(part, list(enumerate(found))):
            if check.match is not None:
                if check.match.video_id not in titles and len(titles) >= self.config.max_matches:
                    continue  # a shard's title past the first max_matches of the whole library
                titles.add(check.match.video_id)
                matches.append(check.match)
            elif check.near is not None and (nearest is None or check.chance < nearest["chance"]):
                nearest = check.near
        return self._drop_lookalikes(matches), nearest

    # -- verifying hypotheses (a sharded library verifies each on the shard holding its video) --
    def check_hypotheses(self, part: "QueryPart", todo: list[tuple[int, Hypothesis]]) -> Iterator[Check]:
        """Verify (rank, hypothesis) pairs, best first, against this matcher's library. What one
        check finds depends only on the earlier ones of its own video (the query rows they
        explained), so the hypotheses of any set of videos, checked apart, give the same checks.
        After `max_matches` titles are matched only their further lines are checked (up to
        `max_lines` each); the caller keeps the first `max_matches` titles by rank."""
        used: dict[int, np.ndarray] = {}  # query rows already explained, per reference video
        tried: dict[int, list[Hypothesis]] = {}
        lines: dict[int, int] = {}  # matches per reference video
        for rank, h in todo:
            vid = h.video_id
            if (vid not in lines and len(lines) >= self.config.max_matches) or lines.get(vid, 0) >= self.config.max_lines:
                continue
            check = self._check(part, rank, h, used)
            tried.setdefault(vid, []).append(h)
            if check is None:
                continue
            yield check
            if check.match is not None:
                lines[vid] = lines.get(vid, 0) + 1
                for more in self._other_lines(part, rank, vid, used, tried[vid]):
                    if more.match is not None:
                        lines[vid] += 1
                    yield more
                    if lines[vid] >= self.config.max_lines:
                        break

    def _other_lines(self, part: "QueryPart", rank: float, video_id: int, used: dict[int, np.ndarray],
                     tried: list[Hypothesis]) -> Iterator[Check]:
        """After a match, the video's other lines: its frame hits on the query rows no match
        explains yet, voted again (a compilation of several scenes of one title; the first vote
        gives a video two lines, often one line at two speeds). Checks rank after `rank`."""
        if part.cands is None:
            return
        step = 0
        while True:
            rows = ~used[video_id][part.cands.query_idx] & (part.cands.video_id == video_id)
            new = [h for h in hypotheses(part.cands.where(rows), self.radius, limit=2)
                   if not any(h.mirrored == t.mirrored and same_line(h.speed, h.offset, t.speed, t.offset) for t in tried)]
            matched = False
            for h in new:
                step += 1
                check = self._check(part, rank + step / 1000, h, used)
                tried.append(h)
                if check is not None:
                    yield check
                    if check.match is not None:
                        matched = True
                        break  # vote again without the rows it explains
            if not matched:
                return

    def _check(self, part: "QueryPart", rank: float, h: Hypothesis, used: dict[int, np.ndarray]) -> "Check | None":
        fpr, keys, usable, n_hyp = part.fpr, part.keys, part.usable, part.n_hyp
        ref = self._video(h.video_id)
        if len(ref.times) == 0:
            return None  # removed since the index was loaded
        qcodes = fpr.mirror_codes if h.mirrored else fpr.codes
        ok = usable & ~used.get(h.video_id, np.zeros(len(fpr), bool))
        near_p = self._density(part, h, ok)
        v = verify(h, fpr.times, qcodes, keys, ok, ref, self.radius, self.cdf, near_p, self.give_up / n_hyp)
        chance = v.p_value * n_hyp
        support = None
        rows, own = fpr, True  # the rows `v` was read on: the samples or their half steps (own), or a turned / zoomed view
        if not self._accepts(v, chance, fpr.quality) and v.hit.sum() >= 2 and part.between is not None:
            half = self._verify_half_step(h, v, part, ok, near_p)
            if half is not None and half[0].p_value * n_hyp * PHASE_TESTS < chance:
                (v, rows), chance = half, half[0].p_value * n_hyp * PHASE_TESTS
        if not self._accepts(v, chance, rows.quality):
            fine = self._verify_fine(h, part, ok)
            if fine is not None and fine.hit_keys >= self.config.min_keys and fine.p_value * n_hyp < chance:
                v, chance, rows = fine, fine.p_value * n_hyp, fpr
                # The line the fine hash proved: its search-hash hits are aligned copy too.
                near64 = closest_in_window(fpr.times, qcodes, ref, v.speed, v.offset)[0]
                support = ok & (near64 <= self.radius)
        if not self._accepts(v, chance, rows.quality) and v.hit.sum() >= 2:
            tilt = self._verify_turned(h, part, used.get(h.video_id))
            tilt_chance = tilt[0].p_value * n_hyp * (len(TURNS) + ZOOM_TESTS) if tilt is not None else math.inf
            if tilt_chance < chance and tilt[0].hit_keys >= self.config.min_keys:
                (v, rows), chance, support, own = tilt, tilt_chance, None, False
        if not self._accepts(v, chance, rows.quality):
            video = self.videos[h.video_id]
            near = {"video_id": video.id, "title": video.title, "ref_path": video.path,
                    "chance": float(f"{chance:.3g}"), "hit_keys": v.hit_keys,
                    "speed": round(float(v.speed), 4), "offset": round(float(v.offset), 3), "mirrored": bool(v.hypothesis.mirrored)}
            if self._lookalike(v, rows.quality) and chance <= self.config.max_chance:
                near["look_alike"] = True  # strong enough for a copy, not for hits this loose
            if v.at_least:  # rejected on the library floor alone: the chance is a lower bound
                near["chance_at_least"] = True
            return Check(rank, near=near, chance=chance)
        match = self._to_match(v, rows, chance, support)
        # A turned or zoomed view's hit on a line the searched rows voted stands for TURN_EVERY
        # frames; a line a zoomed view found by its own search has only its own rows to show.
        searched_zoom = own and bool(turned(fpr.views[:1]).any())
        if match is None or not self._enough(match, every=1 if own else TURN_EVERY,
                                             span=ZOOM_SEARCH_SPAN if searched_zoom else None):
            near = None if match is None else {"video_id": match.video_id, "title": match.title, "ref_path": match.ref_path,
                                               "chance": float(f"{chance:.3g}"), "hit_keys": v.hit_keys, "too_short": True}
            return Check(rank, near=near, chance=chance)
        match = self._respan(match, v, rows, h, ref, ok if own else rows.quality >= self.config.min_quality)
        lo, hi = match.query_span
        span = (part.fpr.times >= lo - TOL) & (part.fpr.times <= hi + TOL)
        if own:
            span &= ~self._elsewhere(part, h, match.speed, match.offset, ref)
        used[h.video_id] = used.get(h.video_id, np.zeros(len(part.fpr), bool)) | span
        return Check(rank, match=match, chance=chance)

    def _lookalike(self, v: Verified, quality: np.ndarray) -> bool:
        """Whether a line is look-alike level: its hits average `lookalike_share` of the hash's
        bits or more, or their frames (`quality`: of the rows `v` verified) average under `blank_quality`."""
        if not v.hit.any():
            return False
        loose = float(v.distance[v.hit].mean()) >= self.config.lookalike_share * v.nbits - 1e-9
        return loose or float(quality[v.hit].mean()) < self.config.blank_quality

    def _accepts(self, v: Verified, chance: float, quality: np.ndarray) -> bool:
        """A line is declared with min_keys events hit at max_chance or below (look-alike level
        lines: at lookalike_chance or below)."""
        limit = min(self.config.max_chance, self.config.lookalike_chance) if self._lookalike(v, quality) else self.config.max_chance
        return v.hit_keys >= self.config.min_keys and chance <= limit

    def _drop_lookalikes(self, matches: list[Match]) -> list[Match]:
        """A second title over the same query frames must fit them about as tightly as the
        stronger match does (the same footage in two titles); a looser fit is a look-alike
        (one set, one camera, one style), not a second source. Two insets are never rivals (the
        two halves of a split screen are two sources at once); the whole picture (seen in any
        of its views) and an inset are."""
        margin = 4 / 64  # in bits per hash bit
        kept: list[Match] = []

        def apart(a: Match, b: Match) -> bool:
            return a.view != b.view and a.view >= INSET_VIEW and b.view >= INSET_VIEW

        for m in sorted(matches, key=lambda m: m.chance):
            length = m.query_span[1] - m.query_span[0]
            rivals = [k for k in kept if k.video_id != m.video_id and not apart(k, m)
                      and min(k.query_span[1], m.query_span[1]) - max(k.query_span[0], m.query_span[0]) >= 0.5 * length]
            if all(m.mean_distance / m.hash_bits <= k.mean_distance / k.hash_bits + margin for k in rivals):
                kept.append(m)
            else:
                log.debug("dropped look-alike %s under %s", m.title, rivals[0].title)
        return kept

    def _candidates(self, fpr: Fingerprint, usable: np.ndarray):
        """Frame hits within the radius, and every query row's raw neighbours (for density)."""
        rows = np.nonzero(usable)[0]
        parts, neighbours = [], {}
        for mirrored, codes in ((False, fpr.codes), (True, fpr.mirror_codes)):
            dist, vids, rts = self.library.search(codes[rows], self.config.k)
            vids, rts = vids.ravel(), rts.ravel()
            found = (vids >= 0) & np.isin(vids, self._enabled_ids)
            all_vids = np.where(found, vids, -1).reshape(dist.shape)
            full_d = np.full((len(fpr), dist.shape[1]), 10**6, np.int32)
            full_v = np.full((len(fpr), dist.shape[1]), -1, np.int64)
            full_d[rows], full_v[rows] = dist, all_vids
            neighbours[mirrored] = (full_d, full_v)
            qi = np.repeat(rows, dist.shape[1])
            keep = found & (dist.ravel() <= self.radius)
            parts.append(Candidates(qi[keep], fpr.times[qi[keep]], vids[keep], rts[keep],
                                    dist.ravel()[keep].astype(np.int32), np.full(int(keep.sum()), mirrored)))
        cands = Candidates(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                             ("query_idx", "query_t", "video_id", "ref_t", "distance", "mirrored")))
        return cands, neighbours

    def _enough(self, match: Match, every: int = 1, span: float | None = None) -> bool:
        """Short flukes between look-alike footage (one studio set, one table) are not copies.
        `every`: sampled frames per matched row (turned and zoomed rows are hashed on one
        sampled frame in TURN_EVERY, so their hits stand for that many frames of footage);
        `span`: the seconds it must cover, when longer than `min_span`."""
        length = match.query_span[1] - match.query_span[0]
        need = max(self.config.min_span, span or 0.0)
        return length >= need and match.matched_frames * every >= self.config.min_frames

    def _elsewhere(self, part: "QueryPart", h: Hypothesis, speed: float, offset: float, ref: Reference) -> np.ndarray:
        """Rows a match's line does not claim: a hash of the same video more than LOCAL s from
        the line's moment is ELSEWHERE bits closer to them than the line's (another moment of
        the title: a compilation's next excerpt, which a slow shot lets the line reach loosely),
        in runs of min_span or longer."""
        out = np.zeros(len(part.fpr), bool)
        if part.cands is None:
            return out
        c = part.cands
        mine = (c.video_id == h.video_id) & (c.mirrored == h.mirrored) & (np.abs(c.ref_t - (offset + speed * c.query_t)) > LOCAL)
        best = np.full(len(part.fpr), np.inf)
        np.minimum.at(best, c.query_idx[mine], c.distance[mine])
        codes = part.fpr.mirror_codes if h.mirrored else part.fpr.codes
        on_line = closest_in_window(part.fpr.times, codes, ref, speed, offset)[0]
        out = best + ELSEWHERE * self.nbits <= on_line
        # Only runs of such rows (gaps up to TOL) lasting min_span: an excerpt, not the odd
        # frame of a long copy that some other moment of its film happens to fit better.
        rows = np.nonzero(out)[0]
        if len(rows):
            t = part.fpr.times[rows]
            for run in np.split(rows, np.nonzero(np.diff(t) > TOL)[0] + 1):
                if part.fpr.times[run[-1]] - part.fpr.times[run[0]] < self.config.min_span:
                    out[run] = False
        return out

    def _respan(self, match: Match, v: Verified, fpr: Fingerprint, h: Hypothesis, ref: Reference, rows: np.ndarray) -> Match:
        """An accepted match's speed and spans read off verify.span_line (a copy played faster or
        slower than the voted speeds) over `rows` (usable, and not explained by an earlier match of
        the video); its chance, frames and pairs stay the verified line's."""
        codes = fpr.mirror_codes if h.mirrored else fpr.codes
        speed, offset, hit = span_line(v, fpr.times, codes, rows, ref, self.radius)
        if speed == match.speed or not hit.any():
            return match
        spans = self._spans(fpr, hit, speed, offset, self.videos[v.hypothesis.video_id].duration)
        if spans[0][1] - spans[0][0] < match.query_span[1] - match.query_span[0]:
            return match
        (q0, q1), (r0, r1), qcov, rcov = spans
        return replace(match, speed=speed, offset=offset, query_span=(q0, q1), ref_span=(r0, r1),
                       query_coverage=qcov, ref_coverage=rcov)

    def _spans(self, fpr: Fingerprint, covered: np.ndarray, speed: float, offset: float, ref_duration: float):
        """(query span, reference span, query coverage, reference coverage) of the rows `covered`
        on a line: the runs of hits no more than 3 s apart that hold a quarter of the biggest."""
        hit_t = np.sort(fpr.times[covered])
        runs = np.split(np.arange(len(hit_t)), np.nonzero(np.diff(hit_t) > 3.0)[0] + 1)
        biggest = max(len(r) for r in runs)
        kept = np.concatenate([r for r in runs if len(r) >= max(2, 0.25 * biggest)] or [runs[0]])
        step = 1.0 / self.query_config.fps if self.query_config.fps else 0.0
        q0 = float(hit_t[kept].min())
        q1 = float(min(hit_t[kept].max() + step, max(fpr.duration, hit_t.max())))
        r0 = float(np.clip(offset + speed * q0, 0, ref_duration))
        r1 = float(np.clip(offset + speed * q1, 0, ref_duration))
        return ((q0, q1), (r0, r1), (q1 - q0) / fpr.duration if fpr.duration else 0.0,
                (r1 - r0) / ref_duration if ref_duration else 0.0)

    def inner_rescue(self, path: str | os.PathLike, result: MatchResult, unbounded: bool = False) -> MatchResult:
        """`result` (of the file `path`, one video stream) again with its strongest refused line
        checked by the inner view (MatchConfig.inner_check); a match, a file of several streams, a
        line above inner_check.MAX_LINE_CHANCE or a max_chance below the measured false-pass rate
        of the way it passed (FALSE_PASS, or PIXEL_FALSE_PASS by the pixels) gives `result` back.
        `unbounded`: give a pass whatever its bound (the bench, measuring the bounds)."""
        near = result.nearest
        video = self.videos.get(near["video_id"]) if near and "offset" in near else None
        if video is None or result.verdict != "no_match" or near["chance"] > inner_check.MAX_LINE_CHANCE \
                or (inner_check.FALSE_PASS > self.config.max_chance and not unbounded) or len(moving_streams(path)) != 1:
            return result  # (a pass is worth its measured false-pass rate: not under a stricter max_chance)
        found = inner_check.check(path, result.duration, video.path, video.duration, near["speed"], near["offset"], near["mirrored"])
        if found is None or not found.passes:
            return result
        chance = inner_check.PIXEL_FALSE_PASS if found.by_pixels else inner_check.FALSE_PASS
        if chance > self.config.max_chance and not unbounded:
            return result
        q = [t for t, _, _ in found.pairs]
        q0, q1 = min(q), min(max(q) + inner_check.SPACING, result.duration)
        r0, r1 = (float(np.clip(found.offset + found.speed * t, 0, video.duration)) for t in (q0, q1))
        match = Match(
            title=video.title, ref_path=video.path, video_id=video.id, score=-math.log10(chance), confidence=1.0 - chance,
            chance=chance, query_span=(q0, q1), ref_span=(r0, r1), speed=found.speed, offset=found.offset,
            mirrored=bool(near["mirrored"]), matched_frames=found.frames,
            query_coverage=(q1 - q0) / result.duration if result.duration else 0.0,
            ref_coverage=(r1 - r0) / video.duration if video.duration else 0.0, mean_distance=found.distance,
            metadata=video.metadata, pairs=found.pairs, view=INNER_VIEW)
        how = (f"{inner_check.PIXELS_NOTE} {found.pixels.ratio:.1f}x nearer its moment than any other, registered at {found.pixels.registered:.2f}"
               if found.by_pixels else f"others {found.margin:g} farther")
        note = (f"matched by the inner-view check (its moment {found.distance:g} bits, {how};"
                f" the line alone was refused at chance {near['chance']:g}): chance is the check's measured false-pass bound")
        return replace(result, verdict="match", matches=(match,), nearest=None, warnings=result.warnings + (note,))

    def _to_match(self, v: Verified, fpr: Fingerprint, chance: float, support: np.ndarray | None = None) -> Match | None:
        """`support`: more query rows on the same line (hits of the other hash) that count for
        the span and the matched frames."""
        covered = v.hit if support is None else v.hit | support
        if not covered.any():
            return None
        video = self.videos[v.hypothesis.video_id]
        (q0, q1), (r0, r1), qcov, rcov = self._spans(fpr, covered, v.speed, v.offset, video.duration)
        d = v.distance[v.hit]
        pairs = tuple(zip(fpr.times[v.hit].tolist(), v.ref_t[v.hit].tolist(), d.tolist()))
        return Match(
            title=video.title, ref_path=video.path, video_id=video.id,
            score=-math.log10(max(v.p_value, 1e-300)), confidence=max(0.0, 1.0 - chance), chance=chance,
            query_span=(q0, q1), ref_span=(r0, r1), speed=v.speed, offset=v.offset, mirrored=v.hypothesis.mirrored,
            matched_frames=int(covered.sum()), query_coverage=qcov, ref_coverage=rcov, mean_distance=float(d.mean()),
            metadata=video.metadata, pairs=pairs, hash_bits=int(v.nbits), view=int(fpr.views[0]),
        )


def _merged(results: list[MatchResult], streams: list[int]) -> MatchResult:
    """One result for a file from its video streams' results (in `streams` order)."""
    matches = sorted((replace(m, stream=s) for r, s in zip(results, streams) for m in r.matches),
                     key=lambda m: (m.chance, -m.matched_frames))
    near = [r.nearest for r in results if r.nearest]
    warnings = tuple(dict.fromkeys(w for r in results for w in r.warnings))
    note = f"{len(streams)} video streams, each matched (#{', #'.join(map(str, streams))})"
    first = results[0]
    return replace(first, verdict="match" if matches else "no_match", matches=tuple(matches),
                   nearest=None if matches else min(near, key=lambda n: n["chance"], default=None),
                   duration=max(r.duration for r in results), frames=sum(r.frames for r in results),
                   partial=any(r.partial for r in results), warnings=warnings + (note,))

