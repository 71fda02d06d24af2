"""The benchmark's figures against hand-made cases."""

import pytest

from fp.benchmarks.metrics import Outcome, average_precision, iou, pr_curve, recall_at_zero_false, recall_by_edit, summary

NEG = float("-inf")

CASES = [
    Outcome("q1", "A", "A", 9.0, ("crop",), true_query_span=(0, 10), query_span=(0, 10), true_ref_span=(5, 15), ref_span=(5, 15)),
    Outcome("q2", "A", "B", 7.0, ("mirror",)),  # wrong title: a false match on a copy
    Outcome("q3", "B", None, 3.0, ("crop",), candidate_ref="B"),  # missed at the threshold, right below it
    Outcome("q4", None, None, 2.0, candidate_ref="A"),  # negative, below threshold
    Outcome("q5", None, "B", 8.0),  # negative matched: false match
    Outcome("q6", "B", "B", 10.0, ("crop", "logo"), true_query_span=(0, 10), query_span=(5, 10), true_ref_span=(0, 10), ref_span=(0, 5)),
]


def test_summary_counts():
    s = summary(CASES)
    assert (s["copies"], s["negatives"], s["true_matches"], s["false_matches"]) == (4, 2, 2, 2)
    assert s["precision"] == pytest.approx(0.5)
    assert s["recall"] == pytest.approx(0.5)
    assert s["false_match_rate"] == pytest.approx(0.5)
    assert s["wrong_title_on_copies"] == 1 and s["false_matches_on_negatives"] == 1
    assert s["query_span_iou"] == pytest.approx((1.0 + 0.5) / 2)
    assert s["ref_span_iou"] == pytest.approx((1.0 + 0.5) / 2)


def test_ranking_metrics():
    # Ranked: q6 10 ok, q1 9 ok, q5 8 wrong, q2 7 wrong, q3 3 ok, q4 2 wrong.
    assert recall_at_zero_false(CASES) == pytest.approx(2 / 4)
    assert average_precision(CASES) == pytest.approx((1 / 1 + 2 / 2 + 3 / 5) / 4)
    curve = pr_curve(CASES)
    assert curve[0] == (10.0, 1.0, 0.25) and curve[-1][2] == pytest.approx(0.75)


def test_recall_by_edit_and_iou():
    by = recall_by_edit(CASES)
    assert by["crop"] == {"n": 2, "found": 1, "recall": 0.5}
    assert by["mirror"]["recall"] == 0.0 and by["combo2"]["recall"] == 1.0
    assert iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert iou((0, 1), (2, 3)) == 0.0 and iou(None, (0, 1)) is None


def test_empty():
    s = summary([])
    assert s["precision"] is None and s["recall"] is None and average_precision([]) is None


def test_a_second_wrong_title_is_a_false_match():
    # The right title first, but a look-alike title named too: found, and still a false match.
    extra = Outcome("q7", "A", "A", 9.0, ("crop",), other_refs=("B",))
    compilation = Outcome("q8", "A", "A", 9.0, ("crop",), other_refs=("A",))
    s = summary([extra, compilation])
    assert (s["true_matches"], s["false_matches"], s["extra_wrong_titles"]) == (2, 1, 1)
    assert s["wrong_title_on_copies"] == 1 and s["precision"] == pytest.approx(2 / 3)


def test_upper_bound_is_one_sided_clopper_pearson():
    from fp.benchmarks.metrics import upper_bound

    assert upper_bound(0, 300) == pytest.approx(1 - 0.05 ** (1 / 300))  # about 3 / n
    # k > 0: the p at which k or fewer of n has probability 0.05 (values from scipy's beta.ppf(0.95, k+1, n-k))
    assert upper_bound(1, 300) == pytest.approx(0.0157145549, rel=1e-6)
    assert upper_bound(5, 60) == pytest.approx(0.1672630764, rel=1e-6)
    assert upper_bound(10, 10000) == pytest.approx(0.0016956315, rel=1e-6)
    assert upper_bound(7, 7) == 1.0 and upper_bound(0, 0) is None
    bounds = [upper_bound(k, 50) for k in range(51)]
    assert bounds == sorted(bounds)


def test_short_copies_and_negative_groups_are_reported_apart():
    from fp.benchmarks.metrics import SHORT_BUCKET, negatives_by_group, recall_by_reference

    outcomes = [
        Outcome("s1", "A", "A", 9.0, ("crop",), group="short"),
        Outcome("s2", "A", None, 1.0, (), group="short"),
        Outcome("c1", "T", "T", 9.0, ("crop",)),
        Outcome("n1", None, None, 1.0, group="same_set"),
        Outcome("n2", None, "T", 7.0, group="same_set"),  # a same-set clip matched the title
        Outcome("n3", None, None, 1.0, group="card"),
        Outcome("n4", None, None, 1.0),  # no group: held-out footage
    ]
    s = summary(outcomes)
    assert s["short_copies"] == 2 and s["recall_short"] == pytest.approx(0.5)
    assert s["false_match_rate"] == pytest.approx(0.25)
    from fp.benchmarks.metrics import upper_bound
    assert s["false_match_rate_upper95"] == pytest.approx(upper_bound(1, 4))
    by_edit = recall_by_edit(outcomes)
    assert by_edit[SHORT_BUCKET] == {"n": 2, "found": 1, "recall": 0.5} and by_edit["crop"]["n"] == 1
    groups = negatives_by_group(outcomes)
    assert list(groups) == ["card", "heldout", "same_set", "all"]
    assert groups["same_set"]["false_matches"] == 1 and groups["same_set"]["rate"] == 0.5
    assert groups["all"]["n"] == 4 and groups["card"]["upper95"] == pytest.approx(0.95)
    assert recall_by_reference(outcomes) == {"A": {"n": 2, "found": 1, "recall": 0.5},
                                             "T": {"n": 1, "found": 1, "recall": 1.0}}
