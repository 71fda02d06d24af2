"""Fingerprint JSON both ways: exact round trip of a real clip, and every bad document refused."""
import copy
import json

import numpy as np
import pytest

from fp.fingerprint.errors import InputError
from fp.fingerprint.normalise import TURNS
from fp.fingerprint.pipeline import QUERY, REFERENCE, fingerprint_video
from fp.fingerprint.serialize import FORMAT, VERSION, fingerprint_from_json, fingerprint_to_json, load_fingerprint

from fp.fingerprint.types import INSET_VIEW, TURNED_VIEW

from ..conftest import clip


@pytest.fixture(scope="module")
def friday():
    return fingerprint_video(clip("friday.mp4"), QUERY)


@pytest.fixture(scope="module")
def doc(friday):
    return json.loads(json.dumps(fingerprint_to_json(friday)))  # through text, as a file or request carries it


def test_round_trip_is_exact(friday, doc):
    assert doc["format"] == FORMAT and doc["version"] == VERSION and doc["fine_bits"] == 256
    back = fingerprint_from_json(doc, "friday.json", expect_params=QUERY.hash_params())
    for name in ("times", "codes", "mirror_codes", "views", "quality", "fine_codes", "fine_mirror_codes"):
        a, b = getattr(friday, name), getattr(back, name)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
    assert back.times.tobytes() == friday.times.tobytes()  # bit-exact floats, not just close
    assert (back.source, back.hasher, back.params, back.duration, back.width, back.height, back.meta) == \
        (friday.source, friday.hasher, friday.params, friday.duration, friday.width, friday.height, friday.meta)
    assert fingerprint_to_json(back) == doc


def test_reference_fingerprint_with_crop_views_round_trips(tmp_path):
    fpr = fingerprint_video(clip("friday.mp4"), REFERENCE)
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(fingerprint_to_json(fpr)))
    back = load_fingerprint(path)
    assert (back.views > 0).any() and np.array_equal(back.views, fpr.views)
    assert np.array_equal(back.fine_codes, fpr.fine_codes) and np.array_equal(back.fine_rows, fpr.fine_rows)


def test_version_1_documents_are_read_with_their_inset_views_moved(doc):
    """Version 1 had five zooms (94-98) and numbered inset views from 100; the edge zooms took
    99-102, so a version 1 document's insets are read as today's (INSET_VIEW and up)."""
    assert (np.asarray(doc["views"]) >= INSET_VIEW).any()  # friday is seen with insets
    edges = set(range(TURNED_VIEW + len(TURNS) + 5, INSET_VIEW))
    keep = [i for i, v in enumerate(doc["views"]) if v not in edges]
    old = {k: ([v[i] for i in keep] if isinstance(v, list) and len(v) == len(doc["views"]) else v) for k, v in doc.items()}
    old["version"] = 1
    old["views"] = [v - INSET_VIEW + 100 if v >= INSET_VIEW else v for v in old["views"]]
    back = fingerprint_from_json(old, "old.json")
    assert back.views.tolist() == [doc["views"][i] for i in keep]


def _broken(doc, edit):
    bad = copy.deepcopy(doc)
    edit(bad)
    return bad


CASES = {
    "wrong format": (lambda d: d.update(format="vpdq"), "format is 'vpdq'"),
    "newer version": (lambda d: d.update(version=VERSION + 1), f"format version {VERSION + 1}"),
    "not an object": (None, "expected a JSON object"),
    "unknown hasher": (lambda d: d.update(hasher="md5"), "unknown hasher"),
    "short codes list": (lambda d: d["codes"].pop(), "codes must be a list of"),
    "short quality list": (lambda d: d["quality"].pop(), "quality must be a list of"),
    "code too long": (lambda d: d["mirror_codes"].__setitem__(3, d["mirror_codes"][3] + "00"), "mirror_codes[3] must be 16 hex digits"),
    "bad hex": (lambda d: d["codes"].__setitem__(5, "zz" + d["codes"][5][2:]), "codes[5] is not hex"),
    "hex with spaces": (lambda d: d["codes"].__setitem__(2, "0 " + d["codes"][2][2:]), "codes[2] is not hex"),
    "bad fine hex": (lambda d: d["fine_codes"].__setitem__(1, "g" * 64), "fine_codes[1] is not hex"),
    "string time": (lambda d: d["times"].__setitem__(0, "0.0"), "times[0]"),
    "infinite time": (lambda d: d["times"].__setitem__(4, float("inf")), "times[4]"),
    "view out of range": (lambda d: d["views"].__setitem__(0, 300), "views[0]"),
    "negative duration": (lambda d: d.update(duration=-1), "duration"),
    "missing codes": (lambda d: d.pop("codes"), "missing codes"),
    "fine codes without fine bits": (lambda d: d.update(fine_bits=0), "fine codes given but fine_bits is 0"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_documents_name_the_source_and_the_reason(doc, case):
    edit, reason = CASES[case]
    bad = [1, 2] if edit is None else _broken(doc, edit)
    with pytest.raises(InputError) as err:
        fingerprint_from_json(bad, "upload-17.json")
    assert "upload-17.json" in str(err.value) and reason in str(err.value)


def test_other_hash_settings_than_the_library_are_refused(doc):
    other = dict(QUERY.hash_params(), work_side=QUERY.hash_params()["work_side"] * 2)
    with pytest.raises(InputError, match=r"x\.json: .*other settings than the library's \(work_side differ\)"):
        fingerprint_from_json(doc, "x.json", expect_params=other)


def test_unreadable_or_non_json_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read fingerprint file"):
        load_fingerprint(tmp_path / "none.json")
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xffnot json")
    with pytest.raises(InputError, match="garbage.json: not a JSON fingerprint file"):
        load_fingerprint(garbage)
