"""Human-readable tables for the terminal."""
from __future__ import annotations


def timecode(seconds: float) -> str:
    seconds = max(0.0, seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}"


def span(pair) -> str:
    return f"{timecode(pair[0])}-{timecode(pair[1])}"


def table(rows: list[list[str]], header: list[str]) -> str:
    rows = [[cell(x) for x in r] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def cell(value) -> str:
    """A table cell on one line: control characters (a newline in a file name) escaped, and
    bytes that are not UTF-8 shown as \\xNN rather than replaced."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a name that is not UTF-8 (surrogate escape)
        return f"\\x{code - 0xDC00:02x}"
    return c.encode("unicode_escape").decode("ascii")


def match_table(results) -> str:
    header = ["suspect", "verdict", "detected title", "suspect span", "reference span", "confidence", "claimed title", "flags"]
    rows = []
    for r in results:
        claimed = r.listing.get("claimed_title", "")
        flags = list(r.listing.get("flags", []))
        if r.verdict == "error":
            rows.append([r.query, "error", r.error or "", "", "", "", claimed, ""])
            continue
        if not r.matches:
            near = r.nearest or {}
            refused = [f"look-alike of {near['title']} refused (chance {near['chance']:.2g})"] if near.get("look_alike") else []
            rows.append([r.query, "no_match", "", "", "", "", claimed, ",".join(flags + refused)])
        for i, m in enumerate(r.matches):
            extra = flags + (["mirrored"] if m.mirrored else []) + ([f"speed {m.speed:.3f}"] if abs(m.speed - 1) > 0.005 else []) \
                + ([m.seen_as] if m.seen_as != "picture" else [])
            rows.append([r.query if i == 0 else "", "match" if i == 0 else "", m.title, span(m.query_span), span(m.ref_span),
                         f"{m.confidence:.4f}", claimed if i == 0 else "", ",".join(extra)])
    return table(rows, header)
