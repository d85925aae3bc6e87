"""Is a capitalised Latin word ordinary English vocabulary? (Interface, Speech, Batteries.)

An unexplained Latin word in Chinese text that is a dictionary word is more often a term
than a product name, so the rules give it too little confidence to stand alone. Uses the
lowercase entries of Webster's 2nd (public domain, shipped by the `english-words` package):
proper nouns are capitalised there and so not counted as vocabulary.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    from english_words import get_english_words_set

    return frozenset(w for w in get_english_words_set(["web2"], lower=False) if w.islower())


def _singulars(word: str) -> tuple[str, ...]:
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and len(word) > 2:
        forms.append(word[:-1])
    return tuple(forms)


@lru_cache(maxsize=4096)
def is_english_word(word: str) -> bool:
    """A Title-case or lowercase alphabetic word found (or its singular) in the dictionary."""
    if not word.isalpha() or not word.isascii() or len(word) < 2:
        return False
    if not (word.islower() or (word[0].isupper() and word[1:].islower())):
        return False  # CamelCase, ALLCAPS: names or acronyms, not vocabulary
    vocabulary = _vocabulary()
    return any(form in vocabulary for form in _singulars(word.lower()))
