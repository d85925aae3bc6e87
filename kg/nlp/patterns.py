"""Pattern rules as data: load `data/patterns/*.yml` into one frozen, compiled object."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import yaml

from kg.errors import ConfigError

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "data" / "patterns"


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


@dataclass(frozen=True)
class Patterns:
    entities: Mapping[str, Any]
    relations: Mapping[str, Any]

    def conf(self, family: str) -> float:
        return float(self.entities["confidence"][family])

    def words(self, name: str) -> frozenset[str]:
        cache = self.__dict__.setdefault("_words_cache", {})
        if name not in cache:
            cache[name] = frozenset(self.entities.get(name, ()))
        return cache[name]

    @cached_property
    def boundary(self) -> frozenset[str]:
        return self.words("boundary_tokens")

    @cached_property
    def roles(self) -> frozenset[str]:
        return self.words("role_words")

    @cached_property
    def role_re(self) -> re.Pattern[str]:
        return re.compile(_alternation(self.roles))

    @cached_property
    def surnames(self) -> frozenset[str]:
        return frozenset(self.entities["surnames"])

    @cached_property
    def org_suffix_re(self) -> re.Pattern[str]:
        words = list(self.entities["org_suffix_institutional"]) + list(self.entities["org_suffix_generic"])
        return re.compile(_alternation(words))

    @cached_property
    def product_type_re(self) -> re.Pattern[str]:
        return re.compile(f"(?:{_alternation(self.entities['product_type_words'])})$")

    @cached_property
    def product_type_words(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.entities["product_type_words"]), key=len, reverse=True))

    @cached_property
    def product_type_prefix_re(self) -> re.Pattern[str]:
        return re.compile(f"(?:{_alternation(self.entities['product_type_words'])})")

    @cached_property
    def policy_type_re(self) -> re.Pattern[str]:
        return re.compile(f"^(?:{_alternation(self.entities['policy_type_words'])})")

    @cached_property
    def tech_head_re(self) -> re.Pattern[str]:
        return re.compile(f"(?:{_alternation(self.entities['tech_heads'])})")

    @cached_property
    def event_head_re(self) -> re.Pattern[str]:
        return re.compile(f"(?:{_alternation(self.entities['event_heads'])})")

    @cached_property
    def award_re(self) -> re.Pattern[str]:
        return re.compile(self.entities["award_pattern"])

    @cached_property
    def alias_marker_re(self) -> re.Pattern[str]:
        return re.compile(_alternation(self.entities["alias_markers"]))

    def trigger_re(self, family: str, key: str = "triggers") -> re.Pattern[str]:
        cache = self.__dict__.setdefault("_trigger_cache", {})
        if (family, key) not in cache:
            cache[(family, key)] = re.compile(_alternation(self.relations[family][key]))
        return cache[(family, key)]

    def last_char_re(self, *names: str) -> re.Pattern[str] | None:
        """A character class of the last characters of the words listed under `names`: a text ends
        with one of the words only where it matches. None if a word is empty (every text ends so)."""
        cache = self.__dict__.setdefault("_last_char_cache", {})
        if names not in cache:
            words = {w for name in names for w in self.entities.get(name, ())}
            cache[names] = re.compile("[" + "".join(sorted(re.escape(w[-1]) for w in words)) + "]") \
                if words and all(words) else None
        return cache[names]

    def rconf(self, family: str, key: str = "confidence") -> float:
        return float(self.relations[family][key])


def _load_yaml(path: Path) -> Mapping[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise ConfigError("pattern file missing", path=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path=path,
                          line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping at top level", path=path, line=1)
    return data


def load_patterns(directory: Path | str | None = None) -> Patterns:
    directory = Path(directory) if directory else DEFAULT_DIR
    return Patterns(entities=_load_yaml(directory / "entities.yml"),
                    relations=_load_yaml(directory / "relations.yml"))
