"""Files to Documents: decode, read front matter, drop boilerplate, re-join lines, split sentences.

No NLP here. The one invariant that matters downstream: every character of a cleaned
sentence knows its index in the decoded original file, so evidence can be shown exactly
where it was found even after lines were re-joined and markup removed.
"""
from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from kg.errors import IngestError
from kg.model import Document, Sentence
from kg.normalize import is_cjk

SUFFIXES = (".txt", ".md", ".markdown")
META_KEYS = ("title", "date", "description", "keywords", "tags", "categories", "author", "url")

_SENTENCE_END = "。！？!?…"
_CLOSERS = "”’\"'）)】」』》"
_LINE_END_PUNCT = set("。！？!?…；;：:」』”\"')）】》.")
_URL_LINE = re.compile(r"^(?:https?://|www\.)\S+$|^\S+\.(?:com|cn|net|org|io)(?:/\S*)?$", re.I)
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—\s]*\d{1,4}[-–—\s]*|第\s*\d{1,4}\s*页(?:\s*[/，,]?\s*共\s*\d{1,4}\s*页)?"
    r"|page\s+\d{1,4}(?:\s+of\s+\d{1,4})?|\d{1,4}\s*/\s*\d{1,4})$",
    re.I,
)
_IMAGE_LINE = re.compile(r"^!\[[^\]]*\]\([^)]*\)$")
_INLINE_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_HEADING = re.compile(r"^(#{1,6})\s+")
_QUOTE = re.compile(r"^(?:>\s?)+")
# a ranked list's entries are section titles even with commas in them: "TOP1：量子计算和量子通信技术，…"
RANKED_TITLE = re.compile(r"\s*TOP\s?\d{1,2}\s*[：:]")
_RANKED = re.compile(r"^(?=" + RANKED_TITLE.pattern + ")")  # marks the line a heading, keeps its text
_BULLET = re.compile(r"^(?:[-*+]\s+|\d{1,3}[.)、]\s*)")
_EMPHASIS = re.compile(r"\*\*|__|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])")
_PUNCT_ANY = re.compile(r"[，。：:；;！？!?,]")


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IngestError("no such file", path=path) from None
    except IsADirectoryError:
        raise IngestError("is a directory", path=path) from None
    except OSError as exc:
        raise IngestError(f"cannot read: {exc.strerror}", path=path) from None


def _score(text: str) -> float:
    """How plausible a decoding is: share of common CJK, ASCII and punctuation."""
    if not text:
        return 0.0
    good = sum(1 for c in text if c.isascii() or "\u4e00" <= c <= "\u9fa5" or "\u3000" <= c <= "\u303f"
               or "\uff00" <= c <= "\uffef" or c in "“”‘’…—·")
    return good / len(text)


def decode(data: bytes, *, path: Path | str = "<bytes>") -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM or not), UTF-16 with BOM, GB18030/GBK or Big5.

    Returns (text, encoding). Binary or undecodable input raises IngestError naming the
    byte position, because a silent replacement character would corrupt evidence.
    """
    if not data.strip():
        raise IngestError("empty file", path=path)
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", path), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", path).lstrip("\ufeff"), "utf-16"
    if b"\x00" in data[:8192]:
        raise IngestError("binary file (contains NUL bytes), not a text document", path=path)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    candidates = []
    for encoding in ("gb18030", "big5"):
        try:
            candidates.append((_score(data.decode(encoding)), encoding))
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise IngestError(
            f"cannot decode as UTF-8, GB18030 or Big5 (invalid byte 0x{data[utf8_error.start]:02x} "
            f"at byte {utf8_error.start})",
            path=path,
        )
    score, encoding = max(candidates, key=lambda c: (c[0], c[1] == "gb18030"))
    text = data.decode(encoding)
    if score < 0.9 or _control_share(text) > 0.01:
        raise IngestError(f"looks binary or undecodable (best guess {encoding})", path=path)
    return text, encoding


def _control_share(text: str) -> float:
    bad = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f")
    return bad / max(1, len(text))


def _strict(data: bytes, encoding: str, path: Path | str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IngestError(f"invalid {encoding} byte at position {exc.start}", path=path) from None


def split_front_matter(text: str, *, path: Path | str = "<text>") -> tuple[dict, int]:
    """Parse YAML front matter delimited by `---` lines; returns (metadata, body offset)."""
    match = re.match(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", text, re.S | re.M)
    if not match:
        return {}, 0
    try:
        raw = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise IngestError(f"invalid YAML front matter: {getattr(exc, 'problem', exc)}",
                          path=path, line=line, column=column) from None
    if not isinstance(raw, dict):
        raise IngestError("front matter is not a mapping", path=path, line=2)
    meta = {k: _plain(raw[k]) for k in META_KEYS if k in raw and raw[k] not in (None, "")}
    return meta, match.end()


def _plain(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value)


@dataclass
class _Line:
    start: int  # offset of the first kept character in the original text
    text: str
    offsets: list[int]
    kind: str = "text"  # text | heading | item | blank | removed


def _lines(text: str, base: int) -> Iterator[tuple[int, str]]:
    pos = base
    for raw in text[base:].splitlines(keepends=True):
        yield pos, raw.rstrip("\r\n")
        pos += len(raw)


def _clean_line(start: int, raw: str) -> _Line:
    """Strip Markdown markup from one line while keeping each character's original offset."""
    chars = list(range(start, start + len(raw)))
    text = raw

    def cut(pattern: re.Pattern[str], keep_group: int | None = None) -> None:
        nonlocal text, chars
        out_t, out_c, last = [], [], 0
        for m in pattern.finditer(text):
            out_t.append(text[last:m.start()])
            out_c.extend(chars[last:m.start()])
            if keep_group is not None:
                out_t.append(m.group(keep_group))
                out_c.extend(chars[m.start(keep_group):m.end(keep_group)])
            last = m.end()
        out_t.append(text[last:])
        out_c.extend(chars[last:])
        text, chars = "".join(out_t), out_c

    kind = "text"
    stripped = text.strip()
    if not stripped:
        return _Line(start, "", [], "blank")
    if _IMAGE_LINE.match(stripped):
        return _Line(start, "", [], "removed")
    lead = len(text) - len(text.lstrip())
    text, chars = text[lead:], chars[lead:]
    for pattern, name in ((_QUOTE, None), (_HEADING, "heading"), (_RANKED, "heading"), (_BULLET, "item")):
        m = pattern.match(text)
        if m:
            text, chars = text[m.end():], chars[m.end():]
            kind = name or kind
    cut(_INLINE_IMAGE)
    cut(_LINK, 1)
    cut(_EMPHASIS)
    trail = len(text) - len(text.rstrip())
    if trail:
        text, chars = text[: len(text) - trail], chars[: len(chars) - trail]
    if not text:
        return _Line(start, "", [], "removed")
    return _Line(start, text, chars, kind)


def _boilerplate(lines: list[_Line]) -> set[str]:
    """Lines that repeat often and carry no sentence: watermarks, running headers."""
    counts = Counter(l.text for l in lines if l.kind != "blank" and l.text)
    repeated = set()
    for text, n in counts.items():
        if n >= 3 and _URL_LINE.match(text):
            repeated.add(text)
        elif n >= 4 and len(text) <= 40 and not _PUNCT_ANY.search(text):
            repeated.add(text)
    return repeated


def _is_wrapped(lines: list[_Line]) -> bool:
    """A PDF-like text: many long lines end mid-sentence and blank lines are not paragraphs."""
    body = [l for l in lines if l.kind == "text" and l.text]
    if len(body) < 8:
        return False
    open_ended = sum(1 for l in body if l.text[-1] not in _LINE_END_PUNCT)
    return open_ended / len(body) > 0.35


def _width(lines: list[_Line]) -> int:
    lengths = sorted(len(l.text) for l in lines if l.kind == "text" and l.text)
    if not lengths:
        return 0
    return lengths[int(len(lengths) * 0.8)]


@dataclass
class _Unit:
    text: str
    offsets: list[int]
    heading: bool


def _join(a: _Unit, b: _Line) -> None:
    left, right = a.text[-1:], b.text[:1]
    if left and right and not (is_cjk(left) or is_cjk(right)) and left.isalnum() and right.isalnum():
        a.text += " "
        a.offsets.append(a.offsets[-1] + 1)
    elif left == "-" and right.isalpha() and len(a.text) > 1 and a.text[-2].isalpha():
        pass  # hyphenated Latin words stay hyphenated; we never guess a soft hyphen
    a.text += b.text
    a.offsets.extend(b.offsets)


def _units(lines: list[_Line]) -> list[_Unit]:
    """Group lines into paragraphs, re-joining lines that a PDF hard-wrapped."""
    wrapped = _is_wrapped(lines)
    width = _width(lines)
    units: list[_Unit] = []
    current: _Unit | None = None
    for line in lines:
        if line.kind == "removed":
            continue  # a removed watermark never ends a paragraph
        if line.kind == "blank":
            if not wrapped:
                current = None
            continue
        if line.kind in ("heading", "item"):
            current = None
        # a heading stays open only when the PDF cut it (below): then only a short tail continues it
        continued = current is not None and (not current.heading or len(line.text) < 0.5 * width)
        last_len = len(line.text)
        if continued and line.kind == "text":
            _join(current, line)
        else:
            current = _Unit(line.text, list(line.offsets), line.kind == "heading")
            units.append(current)
        ends = line.text[-1] in _LINE_END_PUNCT
        short = wrapped and last_len < 0.7 * width
        if ends or short or line.kind == "heading" and not wrapped:
            current = None
    for unit in units:
        if not unit.heading and _looks_like_heading(unit.text):
            unit.heading = True
    return units


def _looks_like_heading(text: str) -> bool:
    """A short line with no sentence punctuation: a section title in plain text (1 无所不在的人工智能)."""
    # quotes may name something inside a title (推特“杀手”), but a line that opens with one is a quotation
    return 2 <= len(text) <= 30 and not re.search(r"[。！？!?；;，,：:、\"]", text) and not text[-1].isdigit() \
        and not text.startswith(("“", "「", "『")) and not re.search(r"www\.|https?://", text)  # a footer with a URL


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a paragraph: split after Chinese or Latin end punctuation."""
    spans, start, i, n = [], 0, 0, len(text)
    while i < n:
        c = text[i]
        end = None
        if c in _SENTENCE_END:
            end = i + 1
            while end < n and (text[end] in _SENTENCE_END or text[end] in _CLOSERS):
                end += 1
        elif c == "." and i > 0 and not text[i - 1].isdigit() \
                and not (i >= 2 and text[i - 2] in " .") and text[i - 1].isalpha():
            after = i + 1
            while after < n and text[after] in _CLOSERS:
                after += 1
            if after == n or text[after] == " ":  # 'done." Next' splits after the quote
                end = after
        if end is not None:
            spans.append((start, end))
            start = end
            i = end
        else:
            i += 1
    if start < n:
        spans.append((start, n))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def parse_text(text: str, *, name: str, path: str = "", encoding: str = "utf-8") -> Document:
    """A decoded text to a Document with metadata and offset-preserving sentences."""
    meta, body = split_front_matter(text, path=path or name)
    lines = [_clean_line(s, raw) for s, raw in _lines(text, body)]
    noise = _boilerplate(lines)
    for line in lines:
        if line.kind != "blank" and (line.text in noise or _PAGE_NUMBER.match(line.text)):
            line.kind = "removed"
    sentences: list[Sentence] = []
    section = ""
    for unit in _units(lines):
        if unit.heading:
            section = unit.text
        for s, e in split_sentences(unit.text):
            sentences.append(
                Sentence(
                    doc=name,
                    index=len(sentences),
                    text=unit.text[s:e],
                    start=unit.offsets[s],
                    end=unit.offsets[e - 1] + 1,
                    offsets=tuple(unit.offsets[s:e]),
                    section=section if not unit.heading else unit.text,
                )
            )
    warnings = ()
    if not sentences:
        warnings = (f"{name}: no sentences found",)
    return Document(name=name, path=path, text=text, encoding=encoding, meta=meta,
                    sentences=tuple(sentences), warnings=warnings)


def load_document(path: str | Path) -> Document:
    """Read one file into a Document; raises IngestError with the file named."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise IngestError(f"unsupported file type {path.suffix or '(none)'}; expected .txt, .md or .markdown",
                          path=path)
    text, encoding = decode(read_bytes(path), path=path)
    document = parse_text(text, name=path.name, path=str(path), encoding=encoding)
    if not document.sentences:
        raise IngestError("no text found after removing markup and boilerplate", path=path)
    return document


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories into a sorted list of document files."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise IngestError("no such file or directory", path=path)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                           and not p.name.lower().startswith("readme"))
            if not files:
                raise IngestError("directory contains no .txt, .md or .markdown documents", path=path)
            found.extend(files)
        else:
            found.append(path)
    return sorted(dict.fromkeys(found), key=lambda p: (p.name, str(p)))
