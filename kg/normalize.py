"""Text normalisation shared by matching, resolution and keys.

Names are compared after NFKC (full-width to half-width), case folding, traditional to
simplified conversion and whitespace removal between CJK characters, so that
"ＩＢＭ", "ibm" and "IBM" or "臺積電" and "台积电" meet.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    """Traditional to simplified Chinese (OpenCC); other text passes unchanged."""
    if not any("\u4e00" <= c <= "\u9fff" for c in text):
        return text
    return _t2s().convert(text)


@lru_cache(maxsize=65536)
def normalize_name(name: str) -> str:
    """The comparison form of a name: NFKC, casefold, simplified, no CJK-adjacent spaces."""
    text = unicodedata.normalize("NFKC", name).casefold().strip()
    text = text.replace("・", "·").replace("•", "·").replace("‧", "·")
    text = _SPACE_BETWEEN_CJK.sub("", text)
    text = _SPACES.sub(" ", text)
    return to_simplified(text)


@lru_cache(maxsize=65536)
def fold_char(c: str) -> str:
    """Length-preserving per-character normalisation used for matching in running text:
    width, case, and traditional to simplified (臺 → 台) where OpenCC maps one character to one."""
    n = unicodedata.normalize("NFKC", c)
    if len(n) != 1:
        return c
    low = n.lower()
    folded = low if len(low) == 1 else n
    if "\u4e00" <= folded <= "\u9fff":
        simple = to_simplified(folded)
        if len(simple) == 1:
            return simple
    return folded


class _FoldTable(dict):
    """code point → folded character, filled on first sight, for `str.translate` (one C loop)."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


def fold_text(text: str) -> str:
    """`fold_char` over a string: same length, so offsets stay valid."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD)


def is_cjk(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"


def is_latin_word_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "_")
