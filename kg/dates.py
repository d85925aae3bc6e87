"""Dates in Chinese text, normalised to ISO (YYYY, YYYY-MM, YYYY-MM-DD).

Relative expressions (1月底, 同月, 年底) are resolved against the year and month in
context, which the caller carries from sentence to sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_FULL = re.compile(r"(?P<y>(?:19|20)\d{2})\s*年(?:\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*[日号])?)?")
_ISO = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[-/.](?P<m>\d{1,2})(?:[-/.](?P<d>\d{1,2}))?(?!\d)")
_MONTH = re.compile(r"(?<![\d年])(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*[日号]|(?P<part>底|初|末|中旬|上旬|下旬))?")
_DIGIT = re.compile(r"\d")
_SAME_MONTH = re.compile(r"同月|当月|本月")
_YEAR_END = re.compile(r"(?P<which>今年|去年|明年|同年|当年)?\s*(?P<part>年底|年初|年末|年中)")


@dataclass(frozen=True)
class DateContext:
    year: int | None = None
    month: int | None = None


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int
    iso: str


def _iso(y: int, m: int | None = None, d: int | None = None) -> str | None:
    if m is not None and not 1 <= m <= 12:
        return None
    if d is not None and not 1 <= d <= 31:
        return None
    if m is None:
        return f"{y:04d}"
    if d is None:
        return f"{y:04d}-{m:02d}"
    return f"{y:04d}-{m:02d}-{d:02d}"


def find_dates(text: str, context: DateContext = DateContext()) -> tuple[list[DateMention], DateContext]:
    """All dates in `text`, in order, and the context after reading it."""
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []
    year, month = context.year, context.month

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    events: list[tuple[int, int, str, str]] = []
    if not _DIGIT.search(text) and "年" not in text and "月" not in text:
        return found, DateContext(year, month)  # every pattern needs a digit, 年 or 月: most sentences have none
    for m in _FULL.finditer(text):
        events.append((m.start(), m.end(), "full", m.group(0)))
    for m in _ISO.finditer(text):
        events.append((m.start(), m.end(), "iso", m.group(0)))
    for m in _MONTH.finditer(text):
        events.append((m.start(), m.end(), "month", m.group(0)))
    for m in _SAME_MONTH.finditer(text):
        events.append((m.start(), m.end(), "same", m.group(0)))
    # _YEAR_END has no literal start and is tried at every position; its every match has 年
    for m in _YEAR_END.finditer(text) if "年" in text else ():
        events.append((m.start(), m.end(), "yearpart", m.group(0)))
    events.sort(key=lambda e: (e[0], -(e[1] - e[0])))
    for start, end, kind, raw in events:
        if not free(start, end):
            continue
        iso = None
        if kind in ("full", "iso"):
            pattern = _FULL if kind == "full" else _ISO
            g = pattern.match(raw)
            y = int(g.group("y"))
            m = int(g.group("m")) if g.group("m") else None
            d = int(g.group("d")) if g.group("d") else None
            iso = _iso(y, m, d)
            if iso:
                year, month = y, m
        elif kind == "month" and year is not None:
            g = _MONTH.match(raw)
            m = int(g.group("m"))
            d = int(g.group("d")) if g.group("d") else None
            iso = _iso(year, m, d)
            if iso:
                month = m
        elif kind == "same" and year is not None and month is not None:
            iso = _iso(year, month)
        elif kind == "yearpart" and year is not None:
            g = _YEAR_END.match(raw)
            offset = {"去年": -1, "明年": 1}.get(g.group("which") or "", 0)
            part = g.group("part")
            y = year + offset
            iso = _iso(y, 12) if part in ("年底", "年末") else _iso(y, 1) if part == "年初" else _iso(y)
        if iso:
            found.append(DateMention(start, end, iso))
            taken.append((start, end))
    return found, DateContext(year, month)


def year_of(value: object) -> int | None:
    m = re.match(r"\s*((?:19|20)\d{2})", str(value or ""))
    return int(m.group(1)) if m else None
