"""A relation classifier learned from hand-annotated and hand-corrected relations.

The trigger rules in `relations.yml` are precise but only fire on the wordings someone wrote
down. This model looks at every pair of mentions in a sentence whose types the ontology
allows to be related, and at what lies between and around them (words, punctuation, other
names, distance), and learns from the gold annotations and the curation ledger which pairs
a careful reader relates and how. It adds relations the rules missed; the rules win where
both speak (they are deduplicated in resolution).

Training uses scikit-learn's logistic regression; the fitted weights are kept as plain JSON
(feature → weight per predicate), so prediction needs no scikit-learn, the shipped model is
diff-friendly, and loading it runs no code (no pickle).
"""
from __future__ import annotations

import json
import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from kg.model import ENTITY_TYPES, PREDICATES, admits
from kg.nlp.rules import Candidate

NONE = "none"
# predicates the model may propose; taxonomy (broader) and symmetric ones stay with the rules
LEARNED = ("inField", "develops", "basedOn", "locatedIn", "affiliatedWith", "participant", "investsIn",
           "acquires", "subsidiaryOf", "regulates")
MAX_GAP = 60  # characters between two mentions; farther pairs are not considered
_PUNCT = re.compile(r"[，,。；;：:、（）()“”\"《》]")
_CUES = ("发布", "推出", "研发", "开发", "打造", "自研", "上线", "基于", "搭载", "采用", "旗下", "合作", "收购", "投资",
         "融资", "位于", "总部", "举办", "领域", "方面", "方向", "赛道", "布局", "等", "如", "包括", "公司", "企业",
         "厂商", "的", "在", "是", "为", "与", "和", "了", "将", "其", "由", "推动", "应用", "技术", "系列", "模型",
         "芯片", "机器人", "平台", "系统", "首席执行官", "创始人", "CEO", "教授", "院士")


@dataclass(frozen=True)
class Pair:
    """Subject and object mentions (indices into the sentence's mentions) of one candidate."""
    subject: int
    object: int


def _allowed(subject_type: str, object_type: str) -> tuple[str, ...]:
    return _ALLOWED.get((subject_type, object_type), ())


_ALLOWED = {(a, b): tuple(p for p in LEARNED if admits(p, a, b)) for a in ENTITY_TYPES for b in ENTITY_TYPES}


def candidate_pairs(mentions: Sequence[Candidate]) -> list[Pair]:
    """Ordered pairs of mentions close enough, of different spans, that some learned predicate admits."""
    out = []
    if len(mentions) < 2:
        return out
    for i, a in enumerate(mentions):
        for j, b in enumerate(mentions):
            if i == j or (a.start < b.end and b.start < a.end):
                continue
            gap = b.start - a.end if a.end <= b.start else a.start - b.end
            if gap > MAX_GAP or not _ALLOWED.get((a.type, b.type)):
                continue
            out.append(Pair(i, j))
    return out


def _bucket(n: int, edges: Sequence[int]) -> str:
    for edge in edges:
        if n <= edge:
            return str(edge)
    return f">{edges[-1]}"


class _Words:
    """A sentence's tokens as text, with their offsets, for the windows features look at.

    Tokens are sorted and do not overlap, so the tokens inside a window are one slice: from
    the first that starts at or after its start to the last that ends by its end (two
    bisections instead of a walk; features ask for three windows per pair).
    """

    def __init__(self, text: str, tokens: Sequence[tuple[int, int]]) -> None:
        self.starts = [s for s, _ in tokens]
        self.ends = [e for _, e in tokens]
        self.tokens = tokens
        # blank tokens are never features: kept as "" so that a slice filters them by truth
        self.words = [w if w.strip() else "" for w in (text[s:e] for s, e in tokens)]

    def within(self, start: int, end: int) -> list[str]:
        """The non-blank words of the tokens lying wholly inside [start, end)."""
        lo = bisect_left(self.starts, start)
        hi = bisect_right(self.ends, end)
        return [w for w in self.words[lo:hi] if w]


_GAP_EDGES = (0, 2, 5, 10, 20, 40)
_OTHERS_EDGES = (0, 1, 2)


def features(text: str, tokens: Sequence[tuple[int, int]], mentions: Sequence[Candidate], pair: Pair,
             words_of: _Words | None = None) -> list[str]:
    """What a reader would look at: the two types, the order, the words and names between, the
    words around, punctuation and the clause boundary, how each name was found."""
    index = words_of or _Words(text, tokens)
    a, b = mentions[pair.subject], mentions[pair.object]
    first, second = (a, b) if a.start < b.start else (b, a)
    tp = f"{a.type}>{b.type}"
    between = text[first.end:second.start]
    words = index.within(first.end, second.start)
    lo, hi = first.end, second.start
    inner = [m.type for m in mentions if m.start >= lo and m.end <= hi]  # the names between
    others_types = sorted(set(inner))
    left = index.within(max(0, first.start - 8), first.start)[-2:]
    right = index.within(second.end, min(len(text), second.end + 8))[:2]
    order = "sf" if a is first else "of"
    gap = _bucket(len(between), _GAP_EDGES)
    others = _bucket(len(inner), _OTHERS_EDGES)
    f = [f"tp={tp}", f"order={order}", f"tp={tp}|order={order}", f"gap={gap}", f"tp={tp}|gap={gap}",
         f"others={others}", f"tp={tp}|others={others}",
         f"sm={a.method.split(':')[0]}", f"om={b.method.split(':')[0]}", f"om={b.method}", f"sm={a.method}"]
    f += [f"ot={t}" for t in others_types]
    punct = sorted(set(_PUNCT.findall(between))) if between else []
    f += [f"p={p}" for p in punct]
    if not punct:
        f += ["clause=same", f"tp={tp}|clause=same"]
    if len(words) <= 6:
        f += [f"w={w}" for w in words] + [f"tp={tp}|w={w}" for w in words]
    else:
        f += [f"w={w}" for w in words[:3] + words[-3:]]
    if words:
        f += [f"w0={words[0]}", f"wn={words[-1]}", f"tp={tp}|w0={words[0]}", f"tp={tp}|wn={words[-1]}"]
    else:
        f += ["adjacent", f"tp={tp}|adjacent"]
    if between:
        cues = [c for c in _CUES if c in between]
        f += [f"cue={c}" for c in cues]
        f += [f"tp={tp}|cue={c}" for c in cues]
    f += [f"L={w}" for w in left] + [f"R={w}" for w in right]
    f += [f"tp={tp}|R={w}" for w in right[:1]] + [f"tp={tp}|L={w}" for w in left[-1:]]
    if a.method == "rule:section-topic" or b.method == "rule:section-topic":
        f.append("section-topic")
    return f


class RelationModel:
    """Weights per predicate over string features; `predict` gives (predicate, probability)."""

    def __init__(self, weights: Mapping[str, Mapping[str, float]], bias: Mapping[str, float], *,
                 threshold: float = 0.5, meta: Mapping | None = None) -> None:
        self.weights = {p: dict(w) for p, w in weights.items()}
        self.bias = dict(bias)
        self.classes = sorted(self.bias)
        self.threshold = threshold
        self.meta = dict(meta or {})
        # feature → its weight for every class, so scoring is one dictionary look-up per feature
        index = {c: i for i, c in enumerate(self.classes)}
        by_feature: dict[str, list[float]] = {}
        for c, ws in self.weights.items():
            for f, w in ws.items():
                by_feature.setdefault(f, [0.0] * len(self.classes))[index[c]] = w
        self._by_feature = {f: tuple(v) for f, v in by_feature.items()}

    def _table(self, classes: tuple[str, ...]) -> dict[str, tuple[float, ...]]:
        """Feature rows narrowed to some classes (usually none and one or two predicates)."""
        cache = self.__dict__.setdefault("_tables", {})
        table = cache.get(classes)
        if table is None:
            idx = [self.classes.index(c) for c in classes]
            table = {f: tuple(row[i] for i in idx) for f, row in self._by_feature.items()
                     if any(row[i] for i in idx)}
            cache[classes] = table
        return table

    def _scoring(self, allowed: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, tuple[float, ...]], list[float]]:
        """The classes a pair of types admits, their feature table and biases (cached per types)."""
        cache = self.__dict__.setdefault("_scorings", {})
        found = cache.get(allowed)
        if found is None:
            classes = tuple(c for c in self.classes if c == NONE or c in allowed)
            found = cache[allowed] = (classes, self._table(classes), [self.bias[c] for c in classes])
        return found

    def probabilities(self, feats: Iterable[str], allowed: Iterable[str]) -> dict[str, float]:
        classes, table, bias = self._scoring(tuple(sorted(set(allowed))))
        rows = [row for row in map(table.get, feats) if row is not None]
        totals = [sum(column) for column in zip(bias, *rows)]  # per class, summed in the same order
        scores = dict(zip(classes, totals))
        top = max(scores.values())
        exp = {c: math.exp(s - top) for c, s in scores.items()}
        total = sum(exp.values())
        return {c: v / total for c, v in exp.items()}

    def predict(self, text: str, tokens: Sequence[tuple[int, int]], mentions: Sequence[Candidate],
                skip: frozenset[tuple[int, int]] = frozenset()) -> list[tuple[Pair, str, float]]:
        """Relations for the sentence's pairs of names; pairs in `skip` (mention indices, either
        order) are already related by the rules and are not looked at."""
        out = []
        index = None
        for pair in candidate_pairs(mentions):
            if (pair.subject, pair.object) in skip:
                continue
            a, b = mentions[pair.subject], mentions[pair.object]
            allowed = _allowed(a.type, b.type)
            index = index or _Words(text, tokens)
            probs = self.probabilities(features(text, tokens, mentions, pair, index), allowed)
            related = sorted(c for c in probs if c != NONE)
            if not related:
                continue
            best = max(related, key=lambda c: probs[c])
            if probs[best] >= self.threshold:
                out.append((pair, best, probs[best]))
        return out

    def to_json(self) -> str:
        data = {"format": "techkg-relation-model/1", "threshold": self.threshold, "meta": self.meta,
                "bias": {c: round(v, 6) for c, v in sorted(self.bias.items())},
                "weights": {c: {f: round(w, 6) for f, w in sorted(ws.items()) if abs(w) >= 0.02}
                            for c, ws in sorted(self.weights.items())}}
        return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=0)

    @classmethod
    def load(cls, path: Path | str) -> "RelationModel":
        from kg.errors import ConfigError

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != "techkg-relation-model/1":
                raise ValueError("not a techkg relation model")
            weights, bias = data["weights"], data["bias"]
            if not isinstance(weights, dict) or not isinstance(bias, dict) or NONE not in bias or \
                    any(not isinstance(w, dict) for w in weights.values()):
                raise ValueError("weights and bias must map classes (including 'none') to numbers")
            for c in sorted(set(weights) - set(bias)):
                raise ValueError(f"class {c!r} has weights but no bias")
            return cls(weights, bias, threshold=float(data["threshold"]), meta=data.get("meta"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"cannot load the relation model: {exc}", path=path) from exc


@dataclass(frozen=True)
class Example:
    features: tuple[str, ...]
    label: str


def train(examples: Sequence[Example], *, c: float = 0.5, threshold: float = 0.35,
          meta: Mapping | None = None) -> RelationModel:
    """Multinomial logistic regression (L2) over the examples; deterministic."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = sorted({e.label for e in examples} | {NONE})
    if len(labels) < 2 or not examples:
        return RelationModel({NONE: {}}, {NONE: 0.0}, threshold=threshold, meta=meta)
    vec = DictVectorizer()
    x = vec.fit_transform([{f: 1.0 for f in e.features} for e in examples])
    y = [e.label for e in examples]
    model = LogisticRegression(C=c, max_iter=2000, random_state=0)
    model.fit(x, y)
    names = vec.get_feature_names_out()
    classes = list(model.classes_)
    if len(classes) == 2:  # binary: sklearn keeps one row; make it two for the softmax
        coef = [(-model.coef_[0]) / 2, model.coef_[0] / 2]
        intercept = [-model.intercept_[0] / 2, model.intercept_[0] / 2]
    else:
        coef, intercept = model.coef_, model.intercept_
    weights = {cls: {names[i]: float(w) for i, w in enumerate(row) if w} for cls, row in zip(classes, coef)}
    bias = {cls: float(b) for cls, b in zip(classes, intercept)}
    return RelationModel(weights, bias, threshold=threshold, meta=meta)
