"""Accuracy figures from (truth, prediction) pairs. Pure functions, checked by hand-made cases."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

SHORT_BUCKET = "short_2_3s"  # recall_by_edit's bucket of short copies (group "short")


@dataclass(frozen=True)
class Outcome:
    """One query: what is true and what a system said (its best match, and any other titles)."""

    query: str
    truth_ref: str | None  # None: unrelated footage
    predicted_ref: str | None  # None: no match at the system's default threshold
    score: float  # ranking score of the best candidate (higher = surer); -inf when none
    edits: tuple[str, ...] = ()
    kind: str = "copy"
    true_query_span: tuple[float, float] | None = None
    true_ref_span: tuple[float, float] | None = None
    query_span: tuple[float, float] | None = None
    ref_span: tuple[float, float] | None = None
    candidate_ref: str | None = None  # best candidate even below threshold (for ranking)
    error: str | None = None
    other_refs: tuple[str, ...] = ()  # titles named besides the best match (a compilation's others)
    group: str | None = None  # truth.json's group: "short" copies, a negative's kind of footage

    @property
    def correct(self) -> bool:
        return self.truth_ref is not None and self.predicted_ref == self.truth_ref

    @property
    def extra_wrong_title(self) -> bool:
        """A second title named that the query does not show."""
        return any(ref != self.truth_ref for ref in self.other_refs)

    @property
    def false_match(self) -> bool:
        wrong_best = self.predicted_ref is not None and self.predicted_ref != self.truth_ref
        return wrong_best or self.extra_wrong_title


def iou(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float | None:
    if a is None or b is None:
        return None
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def _ratio(n: float, d: float) -> float | None:
    return n / d if d else None


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
             for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def upper_bound(k: int, n: int, confidence: float = 0.95) -> float | None:
    """One-sided Clopper-Pearson upper bound on a rate seen k times in n trials: the p at
    which seeing k or fewer has probability 1 - confidence (with k = 0: 1 - alpha^(1/n))."""
    if n <= 0:
        return None
    alpha = 1.0 - confidence
    if k >= n:
        return 1.0
    if k == 0:
        return 1.0 - alpha ** (1.0 / n)
    low, high = k / n, 1.0
    for _ in range(100):
        mid = (low + high) / 2
        if _binomial_cdf(k, n, mid) > alpha:
            low = mid
        else:
            high = mid
    return high


def summary(outcomes: list[Outcome]) -> dict:
    copies = [o for o in outcomes if o.truth_ref is not None]
    negatives = [o for o in outcomes if o.truth_ref is None]
    shorts = [o for o in copies if o.group == "short"]
    tp = sum(o.correct for o in outcomes)
    fm = sum(o.false_match for o in outcomes)
    ious_q = [x for o in copies if o.correct for x in [iou(o.query_span, o.true_query_span)] if x is not None]
    ious_r = [x for o in copies if o.correct for x in [iou(o.ref_span, o.true_ref_span)] if x is not None]
    return {
        "queries": len(outcomes),
        "copies": len(copies),
        "negatives": len(negatives),
        "true_matches": tp,
        "false_matches": fm,
        "false_matches_on_negatives": sum(o.false_match for o in negatives),
        "wrong_title_on_copies": sum(o.false_match for o in copies),
        "extra_wrong_titles": sum(o.extra_wrong_title for o in outcomes),
        "errors": sum(o.error is not None for o in outcomes),
        "precision": _ratio(tp, tp + fm),
        "recall": _ratio(tp, len(copies)),
        "false_match_rate": _ratio(sum(o.false_match for o in negatives), len(negatives)),
        "false_match_rate_upper95": upper_bound(sum(o.false_match for o in negatives), len(negatives)),
        "short_copies": len(shorts),
        "recall_short": _ratio(sum(o.correct for o in shorts), len(shorts)),
        "average_precision": average_precision(outcomes),
        "recall_at_zero_false_matches": recall_at_zero_false(outcomes),
        "query_span_iou": _ratio(sum(ious_q), len(ious_q)),
        "ref_span_iou": _ratio(sum(ious_r), len(ious_r)),
    }


def ranking(outcomes: list[Outcome]) -> list[tuple[float, bool]]:
    """(score, is it a correct identification) for every query's best candidate, best first."""
    ranked = []
    for o in outcomes:
        ref = o.candidate_ref or o.predicted_ref
        if ref is None or o.score == float("-inf"):
            continue
        ranked.append((o.score, o.truth_ref is not None and ref == o.truth_ref))
    ranked.sort(key=lambda x: -x[0])
    return ranked


def average_precision(outcomes: list[Outcome]) -> float | None:
    """Area under the precision-recall curve of the score ranking (copies found / all copies)."""
    n_copies = sum(o.truth_ref is not None for o in outcomes)
    if not n_copies:
        return None
    hits, total = 0, 0.0
    for rank, (_, ok) in enumerate(ranking(outcomes), start=1):
        if ok:
            hits += 1
            total += hits / rank
    return total / n_copies


def pr_curve(outcomes: list[Outcome]) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) at every distinct score."""
    n_copies = sum(o.truth_ref is not None for o in outcomes)
    out, hits = [], 0
    for rank, (score, ok) in enumerate(ranking(outcomes), start=1):
        hits += ok
        out.append((score, hits / rank, hits / n_copies if n_copies else 0.0))
    return out


def recall_at_zero_false(outcomes: list[Outcome]) -> float | None:
    """Recall when the threshold sits just above the best-scoring wrong answer."""
    n_copies = sum(o.truth_ref is not None for o in outcomes)
    if not n_copies:
        return None
    hits = 0
    for _, ok in ranking(outcomes):
        if not ok:
            break
        hits += 1
    return hits / n_copies


def recall_by_edit(outcomes: list[Outcome]) -> dict[str, dict]:
    """Recall per single edit, plus 'combo2'/'combo3' buckets, 'natural' copies and the
    short copies (whatever their edit) in SHORT_BUCKET."""
    buckets: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if o.truth_ref is None:
            continue
        if o.group == "short":
            key = SHORT_BUCKET
        elif o.kind == "natural":
            key = "natural"
        elif len(o.edits) == 0:
            key = "plain"
        elif len(o.edits) == 1:
            key = o.edits[0]
        else:
            key = f"combo{len(o.edits)}"
        buckets[key].append(o)
    return {k: {"n": len(v), "found": sum(o.correct for o in v), "recall": sum(o.correct for o in v) / len(v)}
            for k, v in sorted(buckets.items())}


def recall_by_reference(outcomes: list[Outcome]) -> dict[str, dict]:
    """Recall per reference (a multi-scene title is one reference)."""
    buckets: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if o.truth_ref is not None:
            buckets[o.truth_ref].append(o)
    return {k: {"n": len(v), "found": sum(o.correct for o in v), "recall": sum(o.correct for o in v) / len(v)}
            for k, v in sorted(buckets.items())}


def negatives_by_group(outcomes: list[Outcome]) -> dict[str, dict]:
    """False matches on unrelated queries per kind of footage (group), and over all of them,
    each with the 95 % upper bound of its rate."""
    buckets: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if o.truth_ref is None:
            buckets[o.group or "heldout"].append(o)
            buckets["all"].append(o)
    out = {}
    for k, v in sorted(buckets.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        fm = sum(o.false_match for o in v)
        out[k] = {"n": len(v), "false_matches": fm, "rate": fm / len(v), "upper95": upper_bound(fm, len(v))}
    return out
