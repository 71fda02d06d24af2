"""Which stream is read, and how its frames are timed: cover art, a second video, restarting
timestamps (files joined with `cat`), animated GIFs. Inputs are real clips re-encoded here."""
import json
import struct
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from fp.fingerprint.decode import iter_frames, probe, stream_duration
from fp.fingerprint.errors import VideoDecodeError
from fp.fingerprint.pipeline import fingerprint_video

from ..conftest import clip, write_video

SIZE = (360, 240)  # clips are shrunk to this: quicker to code, the same to the hashes


def _frames(name: str, start: int, count: int) -> list[np.ndarray]:
    """`count` RGB frames of a sample clip from frame `start`, shrunk to SIZE."""
    with av.open(str(clip(name))) as container:
        frames = []
        for i, frame in enumerate(container.decode(video=0)):
            if i >= start:
                frames.append(cv2.resize(frame.to_ndarray(format="rgb24"), SIZE, interpolation=cv2.INTER_AREA))
            if len(frames) == count:
                return frames
    raise AssertionError(f"{name} has fewer than {start + count} frames")


@pytest.fixture(scope="module")
def frog():
    return _frames("frog.mp4", 0, 90)  # 3 s at 30 fps


@pytest.fixture(scope="module")
def elf():
    return _frames("elf.mp4", 0, 90)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A library of two real clips, frog and elf."""
    from fp.index.indexer import index_paths
    from fp.index.library import Library

    path = tmp_path_factory.mktemp("lib") / "lib"
    with Library(path) as lib:
        report = index_paths(lib, [clip("frog.mp4"), clip("elf.mp4")])
        assert report.count("indexed") == 2, report.to_dict()
    return path


def _match(library, path):
    from fp.index.library import Library
    from fp.index.matcher import Matcher

    with Library(library) as lib:
        return Matcher(lib).match_file(path)


def _jpeg(img: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", img)[1].tobytes()


def _encode(out, stream, frames) -> None:
    for i, img in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, 30)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def _with_cover(path, frames, cover: np.ndarray, disposition: int = 0):
    """A one-picture MJPEG stream (#0) before an H.264 stream of `frames` (#1)."""
    with av.open(str(path), "w") as out:
        still = out.add_stream("mjpeg")
        still.width, still.height, still.pix_fmt = SIZE[0], SIZE[1], "yuvj420p"
        still.disposition = disposition
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        out.start_encoding()
        packet = av.Packet(_jpeg(cover))
        packet.stream, packet.pts, packet.dts, packet.time_base = still, 0, 0, Fraction(1, 30)
        out.mux(packet)
        _encode(out, video, frames)
    return path


def _cover_art_first(path):
    """Move the 'udta' box (where MP4 keeps cover art) before the tracks: the demuxer then makes
    the cover stream #0. The media data comes before 'moov', so no offset changes."""
    data = path.read_bytes()
    top = _boxes(data, 0, len(data))
    kinds = [kind for kind, _, _ in top]
    assert kinds.index(b"mdat") < kinds.index(b"moov"), kinds
    _, at, size = top[kinds.index(b"moov")]
    kids = _boxes(data, at + 8, at + size)
    order = sorted(kids, key=lambda box: {b"mvhd": 0, b"udta": 1}.get(box[0], 2))
    path.write_bytes(data[: at + 8] + b"".join(data[o : o + n] for _, o, n in order) + data[at + size :])
    return path


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    boxes = []
    while start < end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        boxes.append((kind, start, size))
        start += size
    return boxes


# -- cover art and stills before the video ------------------------------------------------

def test_cover_art_stream_first_is_passed_over(tmp_path, frog, elf, library):
    path = _with_cover(tmp_path / "cover.mp4", frog, elf[0], av.stream.Disposition.attached_pic)
    _cover_art_first(path)
    with av.open(str(path)) as container:  # the case itself: the cover is stream #0
        assert container.streams.video[0].disposition & av.stream.Disposition.attached_pic
    fpr = fingerprint_video(path)
    assert len(fpr) == 15 and abs(fpr.duration - 3.0) < 0.05
    assert probe(path).codec == "h264" and abs(stream_duration(path) - 3.0) < 0.05
    result = _match(library, path)
    assert result.verdict == "match" and result.matches[0].title == "frog", result.nearest
    assert not result.warnings  # cover art is not another video


def test_one_frame_track_first_in_matroska_is_passed_over(tmp_path, frog, elf):
    # Matroska keeps no cover-art flag: the 1-frame track is known by its length (DURATION tag).
    path = _with_cover(tmp_path / "cover.mkv", frog, elf[0])
    frames = iter_frames(path, fps=None)
    times = [f.t for f in frames]
    assert len(times) == 90 and abs(times[-1] - 89 / 30) < 1e-3
    assert frames.summary.partial is None


def _song(path, cover: np.ndarray, seconds: int = 3):
    """An MP3 of `seconds` of tone with its cover art (a JPEG stream flagged attached_pic)."""
    with av.open(str(path), "w") as out:
        audio = out.add_stream("libmp3lame", rate=44100)
        audio.layout = "mono"
        art = out.add_stream("mjpeg")
        art.width, art.height, art.pix_fmt = SIZE[0], SIZE[1], "yuvj420p"
        art.disposition = av.stream.Disposition.attached_pic
        out.start_encoding()
        packet = av.Packet(_jpeg(cover))
        packet.stream, packet.pts, packet.dts, packet.time_base = art, 0, 0, Fraction(1, 30)
        out.mux(packet)
        tone = (np.sin(np.arange(44100 * seconds) / 20) * 0.3).astype(np.float32)[None, :]
        for i in range(0, tone.shape[1] - 1151, 1152):
            frame = av.AudioFrame.from_ndarray(tone[:, i : i + 1152].copy(), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 44100, i, Fraction(1, 44100)
            for p in audio.encode(frame):
                out.mux(p)
        for p in audio.encode():
            out.mux(p)
    return path


def test_a_song_with_cover_art_is_audio_not_a_video(tmp_path, elf, library):
    """Its only picture was read as a video: each song in a walked music folder failed the
    batch ("only 1 frame: too short to fingerprint", exit 1) where songs without art are
    skipped as holding no video."""
    from click.testing import CliRunner

    from fp.cli.main import cli

    music = tmp_path / "music"
    music.mkdir()
    song = _song(music / "song.mp3", elf[0])
    with pytest.raises(VideoDecodeError, match="audio-only file with cover art"):
        fingerprint_video(song)
    walked = CliRunner().invoke(cli, ["index", "--library", str(library), "--workers", "1", "-q", str(music)])
    assert walked.exit_code == 0 and "not video: " in walked.output, walked.output
    named = CliRunner().invoke(cli, ["match", "--library", str(library), "-q", str(song)])
    assert named.exit_code != 0 and "audio-only file with cover art" in named.output, named.output


# -- a second video stream ----------------------------------------------------------------

def test_every_moving_video_stream_is_matched(tmp_path, frog, elf, library):
    """A copy hidden in a second video stream (players show the first) is found there."""
    from fp.index.evidence import FrameGrabber

    path = tmp_path / "two.mp4"
    with av.open(str(path), "w") as out:
        streams = [out.add_stream("libx264", rate=30) for _ in range(2)]
        for video in streams:
            video.width, video.height, video.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for video, frames in zip(streams, (elf, frog)):
            _encode(out, video, frames)
    result = _match(library, path)
    assert result.verdict == "match" and {(m.title, m.stream) for m in result.matches} == {("elf", 0), ("frog", 1)}
    assert "2 video streams, each matched (#0, #1)" in result.warnings
    assert [m.seen_as for m in result.matches if m.title == "frog"][0].endswith(" in video stream #1")
    with FrameGrabber(path, stream=1) as grabber:  # evidence reads the stream its match is in
        thumb = grabber.grab(1.0)
    size = (thumb.shape[1], thumb.shape[0])
    far = [np.abs(thumb.astype(int) - cv2.resize(x[30], size).astype(int)).mean() for x in (frog, elf)]
    assert far[0] < far[1]


# -- timestamps that restart --------------------------------------------------------------

def _joined_ts(tmp_path, parts) -> object:
    """MPEG-TS files each timed from 0, joined byte for byte (`cat a.ts b.ts`)."""
    paths = [write_video(tmp_path / f"part{i}.ts", frames, fps=30) for i, frames in enumerate(parts)]
    joined = tmp_path / "joined.ts"
    joined.write_bytes(b"".join(p.read_bytes() for p in paths))
    return joined


def test_restarting_timestamps_are_joined_end_to_end(tmp_path, frog, elf):
    path = _joined_ts(tmp_path, [elf[:50], frog[:60]])  # 5/3 s: the second part is off the 0.2 s sample grid
    frames = iter_frames(path, fps=None)
    every = {round(f.t, 3): f.luma.copy() for f in frames}
    times = np.array(sorted(every))
    assert len(times) == 110 and np.allclose(np.diff(times), 1 / 30, atol=1e-3)
    assert frames.summary.notes == ("timestamps restart once; segments joined end to end",)
    # Sampling decodes only the frames samples need: after the restart too, the first at or after each 0.2 s.
    sampled = list(iter_frames(path, fps=5.0))
    assert [round(f.t, 3) for f in sampled] == [times[times >= k * 0.2 - 1e-6][0] for k in range(19)]
    for f in sampled:
        assert np.array_equal(f.luma, every[round(f.t, 3)])
    assert abs(stream_duration(path) - 110 / 30) < 0.01


def test_evidence_frames_of_a_joined_file_are_read_at_joined_times(tmp_path, frog, elf):
    from fp.index.evidence import FrameGrabber

    path = _joined_ts(tmp_path, [frog[:60], elf])  # frog 2 s, then elf 3 s timed from 0 again

    def nearest(img, a, b):  # which of two source frames a thumbnail shows
        size = (img.shape[1], img.shape[0])
        far = [np.abs(img.astype(int) - cv2.resize(x, size, interpolation=cv2.INTER_AREA).astype(int)).mean() for x in (a, b)]
        return "first" if far[0] < far[1] else "second"

    with FrameGrabber(path) as grabber:
        late = grabber.grab(4.5)  # elf at 2.5 s: no such raw time in either part
        early = grabber.grab(0.5)  # back to frog at 0.5 s
    assert late is not None and nearest(late, elf[75], frog[15]) == "first"
    assert early is not None and nearest(early, frog[15], elf[15]) == "first"


def test_b_frames_at_a_low_frame_rate_are_not_a_restart(tmp_path, frog):
    """At 2 frames/s a B-pyramid steps packet times back a second or more: reordering, not a restart."""
    path = tmp_path / "slow.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=2, options={"bf": "3", "b-pyramid": "normal"})
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for img in frog[::4]:  # 23 frames: 11.5 s
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")))
        out.mux(stream.encode())
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        pts = [float(p.pts * video.time_base) for p in container.demux(video) if p.size]
    assert max(a - b for a, b in zip(pts, pts[1:])) >= 1.0  # the file steps back past RESTART_BACK
    fpr = fingerprint_video(path)
    assert abs(stream_duration(path) - 11.5) < 0.01 and abs(fpr.duration - 11.5) < 0.01
    assert "notes" not in fpr.meta


def test_joined_copy_is_found_after_the_restart(tmp_path, frog, elf, library):
    path = _joined_ts(tmp_path, [elf[:60], frog])
    fpr = fingerprint_video(path)
    assert abs(fpr.duration - 5.0) < 0.05 and fpr.meta["notes"] == ["timestamps restart once; segments joined end to end"]
    result = _match(library, path)
    found = {m.title: m for m in result.matches}
    assert "frog" in found, result.nearest
    assert abs(found["frog"].query_span[0] - 2.0) < 0.3 and found["frog"].ref_span[0] < 0.3  # frog 0 s at 2 s
    assert "timestamps restart once; segments joined end to end" in result.warnings  # the user is told


# -- a start that does not decode ---------------------------------------------------------

def _one_second_gops(path, frames):
    """`frames` in H.264 at 30 fps with a keyframe every second."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"g": "30", "keyint_min": "30", "sc_threshold": "0", "x264-params": "mbtree=0"})
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.codec_context.thread_count = 1
        _encode(out, stream, frames)
    return path


def _zero_first_gop(src, dst):
    """`src` with the bytes of every packet before its second keyframe zeroed (a damaged first
    GOP: the packets and their times are there, nothing decodes before 1 s)."""
    data = bytearray(src.read_bytes())
    with av.open(str(src)) as container:
        keys = 0
        for packet in container.demux(video=0):
            keys += packet.is_keyframe
            if keys > 1:
                break
            data[packet.pos : packet.pos + packet.size] = bytes(packet.size)
    dst.write_bytes(bytes(data))
    return dst


def test_a_start_that_does_not_decode_keeps_the_stream_times(tmp_path, library):
    """Times counted from the first decoded frame were all early by the lost second: a
    reference indexed so reported every match's reference span 1 s early (its thumbnails
    failed: the grabber gave up at the first bad packet)."""
    from click.testing import CliRunner

    from fp.cli.main import cli
    from fp.index.evidence import FrameGrabber

    frog = _frames("frog.mp4", 0, 150)  # 5 s
    intact = _one_second_gops(tmp_path / "intact.mp4", frog)
    damaged = _zero_first_gop(intact, tmp_path / "damaged.mp4")
    whole, fpr = fingerprint_video(intact), fingerprint_video(damaged)
    assert fpr.times.min() == 1.0 and fpr.duration == whole.duration == 5.0
    assert "nothing decodes before 1.0 s" in fpr.meta["partial_reason"] and fpr.meta["partial_reason"].endswith("; 4.0 s decoded")
    later = (whole.views == 0) & (whole.times >= 1.0)
    assert np.array_equal(fpr.times[fpr.views == 0], whole.times[later])
    assert np.array_equal(fpr.codes[fpr.views == 0], whole.codes[later])
    every = {round(f.t, 4): f.luma.copy() for f in iter_frames(damaged, fps=None)}  # sampling takes the same frames
    assert all(np.array_equal(f.luma, every[round(f.t, 4)]) for f in iter_frames(damaged, fps=5.0))

    lib = tmp_path / "lib"  # the damaged file as the reference, the intact one as the suspect
    runner = CliRunner()
    assert runner.invoke(cli, ["index", str(damaged), "--library", str(lib), "--workers", "1", "-q"]).exit_code == 0
    r = runner.invoke(cli, ["match", str(intact), "--library", str(lib), "--json", "-q"])
    match = json.loads(r.stdout.splitlines()[0])["matches"][0]
    assert abs(match["ref_span"][0] - match["query_span"][0]) < 0.05, match  # the same picture: 1 s apart before
    found = {m.title: m for m in _match(library, damaged).matches}["frog"]  # and as a suspect
    assert abs(found.query_span[0] - found.ref_span[0]) < 0.05, found

    with FrameGrabber(damaged) as grabber:
        thumb = grabber.grab(3.0)
    assert thumb is not None, grabber.error
    size = (thumb.shape[1], thumb.shape[0])
    far = [np.abs(thumb.astype(int) - cv2.resize(frog[i], size).astype(int)).mean() for i in (90, 60)]
    assert far[0] < far[1]  # frog at 3 s, not at 2 s


# -- animated images ----------------------------------------------------------------------

def _gif(path, frames, fps: int = 10):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("gif", rate=fps)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "rgb8"
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_an_animated_gif_is_a_video_and_a_one_frame_gif_a_still(tmp_path, frog):
    with pytest.raises(VideoDecodeError, match=r"a still image \(gif\), not a video"):
        fingerprint_video(_gif(tmp_path / "still.gif", frog[:1]))
    fpr = fingerprint_video(_gif(tmp_path / "anim.gif", frog[::3][:20]))  # 2 s at 10 fps
    assert len(fpr) == 10 and abs(fpr.duration - 2.0) < 0.05
    assert np.allclose(fpr.times, np.arange(10) * 0.2)


def test_an_animated_webp_ffmpeg_cannot_decode_is_not_called_a_still(tmp_path, frog):
    """FFmpeg decodes no frame of an animated WebP: it was reported as "a still image"."""
    path = tmp_path / "anim.webp"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libwebp", rate=30)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        _encode(out, stream, frog[:5])
    with pytest.raises(VideoDecodeError, match="an animated WebP: this FFmpeg cannot decode its frames"):
        fingerprint_video(path)
