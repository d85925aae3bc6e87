"""The spaCy Language: blank zh with jieba (or blank en) plus techkg's named components.

`build_nlp` is the only place a Language is made. Components:
- `techkg_entities`: gazetteer + rule families → non-overlapping typed spans (`doc.ents`,
  and `doc._.techkg_mentions` with method and confidence for each span);
- `techkg_relations`: relation rules over those spans (`doc._.techkg_relations`).
A trained `ner` component, when present, adds spans the rules did not find.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import spacy
from spacy.attrs import IDX, IS_SPACE, LENGTH
from spacy.language import Language
from spacy.tokens import Doc, Span

from kg.dates import DateContext, find_dates, year_of
from kg.ingest import RANKED_TITLE
from kg.model import Document, Mention
from kg.nlp.lexicon import Lexicon
from kg.nlp.patterns import Patterns
from kg.nlp.relations import RelationRules, RelCandidate, _clause_bounds, field_list, field_list_heading
from kg.nlp.patterns import _alternation as _alternation_of
from kg.nlp.rules import LAUNCH_NOUN, RULES, Candidate, Gazetteer, Sent, choose, find_aliases, propagate_types
from kg.normalize import fold_text

for _attr in ("techkg_mentions", "techkg_relations", "techkg_aliases"):
    if not Doc.has_extension(_attr):
        Doc.set_extension(_attr, default=None)

NER_CONFIDENCE = 0.6
LABELS = {"Organization": "ORG", "Person": "PERSON", "Technology": "TECH", "Product": "PRODUCT",
          "Event": "EVENT", "Place": "GPE", "Policy": "LAW"}
TYPES = {v: k for k, v in LABELS.items()}


class EntityComponent:
    """Gazetteer and pattern rules; the rules' certainty decides overlaps."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.lexicon = Lexicon()
        self.patterns: Patterns | None = None
        self.gazetteer = Gazetteer(self.lexicon)
        # Setting doc.ents costs as much as the rules (spaCy validates every span), so it
        # is done only where token-level spans are needed: training and spaCy interop.
        self.set_ents = False

    def configure(self, lexicon: Lexicon, patterns: Patterns) -> None:
        self.lexicon = lexicon
        self.patterns = patterns
        self.gazetteer = Gazetteer(lexicon)

    def __call__(self, doc: Doc) -> Doc:
        assert self.patterns is not None, "techkg_entities used before configure()"
        text = doc.user_data.get("text") or doc.text  # Doc.text re-joins every token
        tokens = doc.user_data.get("offsets")  # JiebaWords keeps them; other tokenizers do not
        if tokens is None:
            starts = doc.to_array(IDX).tolist()
            lengths = doc.to_array(LENGTH).tolist()
            spaces = doc.to_array(IS_SPACE).tolist()
            tokens = tuple((s, s + n) for s, n, sp in zip(starts, lengths, spaces) if not sp)
        sent = Sent(text=text, folded=fold_text(text), tokens=tokens, section=doc.user_data.get("section", ""))
        candidates = self.gazetteer.find(sent, self.patterns.conf("lexicon"))
        for rule in RULES:
            candidates.extend(rule(sent, self.patterns, self.lexicon))
        candidates = _with_ner(candidates, doc)
        # a known event's name (WeWork破产, Atlas首次亮相) is a description that contains other
        # names: it is kept beside them instead of competing with them for the span
        events = [c for c in candidates if c.type == "Event" and c.method == "lexicon"]
        chosen = propagate_types(text, choose(c for c in candidates if not (c.type == "Event" and c.method == "lexicon")))
        if events:
            chosen = sorted(set(chosen) | set(
                e for e in choose(events + [c for c in chosen if c.type == "Event"]) if e.method == "lexicon"
                and not any(c.start == e.start and c.end == e.end for c in chosen)), key=lambda c: (c.start, c.end, c.type))
        ext = doc._  # every `doc._` makes a new accessor object: one per sentence is enough
        ext.techkg_mentions = chosen
        doc.user_data["tokens"] = sent.tokens
        ext.techkg_aliases = find_aliases(sent, chosen, self.patterns)
        if self.set_ents:
            doc.ents = self.spans(doc, chosen)
        return doc

    @staticmethod
    def spans(doc: Doc, chosen) -> list[Span]:
        ents: list[Span] = []
        last_end = 0
        for c in chosen:
            span = doc.char_span(c.start, c.end, label=LABELS[c.type], alignment_mode="expand")
            if span is not None and span.start >= last_end:
                ents.append(span)
                last_end = span.end
        return ents


def _with_ner(candidates: list[Candidate], doc: Doc) -> list[Candidate]:
    """Let a trained `ner` (earlier in the pipeline) confirm and type rule guesses.

    A guess the model also found (same span) takes the model's type and more confidence.
    Spans only the model found are not added: trained on three documents, the model's own
    proposals lowered leave-one-out F1 (0.648 → 0.584), its typing of rule guesses did not.
    """
    if not doc.ents:
        return candidates
    ner = {(e.start_char, e.end_char): TYPES[e.label_] for e in doc.ents if e.label_ in TYPES}
    out = []
    seen = set()
    for c in candidates:
        seen.add((c.start, c.end))
        if c.confidence >= 0.8:
            out.append(c)
        elif (c.start, c.end) in ner:
            out.append(Candidate(c.start, c.end, ner[(c.start, c.end)], c.method + "+ner",
                                 min(0.8, c.confidence + 0.15), c.canonical))
        else:
            out.append(c)
    return out


class RelationComponent:
    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.rules: RelationRules | None = None

    def configure(self, patterns: Patterns) -> None:
        self.rules = RelationRules(patterns)

    def __call__(self, doc: Doc) -> Doc:
        assert self.rules is not None, "techkg_relations used before configure()"
        ext = doc._
        ext.techkg_relations = self.rules.find(doc.user_data.get("text") or doc.text, ext.techkg_mentions or [])
        return doc


@Language.factory("techkg_entities")
def _make_entities(nlp: Language, name: str) -> EntityComponent:
    return EntityComponent(nlp, name)


@Language.factory("techkg_relations")
def _make_relations(nlp: Language, name: str) -> RelationComponent:
    return RelationComponent(nlp, name)


def _jieba_tokenizer(lexicon: Lexicon):
    """A private jieba dictionary with every lexicon name, so tokens line up with names.

    The tokenizer is jieba's with cheaper inner loops (`kg.nlp.segment`): same cuts, ~20% less time.
    """
    import jieba

    from kg.nlp.segment import FastTokenizer

    jieba.setLogLevel(logging.WARNING)
    tokenizer = FastTokenizer()
    tokenizer.initialize()
    for entry in lexicon.entries:
        for surface in entry.surfaces:
            if surface and " " not in surface and len(surface) <= 20:
                tokenizer.add_word(surface, freq=20000)
    return tokenizer


class JiebaWords:
    """spaCy's jieba tokenizer without its general-purpose word/space alignment, which costs as
    much as the segmentation: jieba's pieces cover the text exactly, so a single space after
    a word becomes that token's trailing space and every other piece is a token."""

    def __init__(self, vocab, segmenter) -> None:
        self.vocab = vocab
        self.jieba_seg = segmenter

    def __call__(self, text: str) -> Doc:
        words: list[str] = []
        spaces: list[bool] = []
        offsets: list[tuple[int, int]] = []  # of the non-space tokens, as the rules read them
        pos = 0
        for piece in self.jieba_seg.cut(text, cut_all=False):
            if not piece:
                continue
            end = pos + len(piece)
            if piece == " " and words and not spaces[-1]:
                spaces[-1] = True
            else:
                words.append(piece)
                spaces.append(False)
                if not piece.isspace():
                    offsets.append((pos, end))
            pos = end
        doc = Doc(self.vocab, words=words, spaces=spaces)
        doc.user_data["offsets"] = tuple(offsets)
        return doc


def build_nlp(lexicon: Lexicon, patterns: Patterns, *, lang: str = "zh", ner=None) -> Language:
    """A fresh pipeline over `spacy.blank(lang)`; `ner` is an optional trained component source."""
    if lang == "zh":
        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        nlp.tokenizer = JiebaWords(nlp.vocab, _jieba_tokenizer(lexicon))
    else:
        nlp = spacy.blank(lang)
    if ner is not None:
        nlp.add_pipe("ner", source=ner)
    nlp.add_pipe("techkg_entities").configure(lexicon, patterns)
    nlp.add_pipe("techkg_relations").configure(patterns)
    return nlp


_APPROVAL = re.compile(r"(?:正式|同时)?(?:批准|核准)了?|(?:同时)?通过了")

_MILESTONE = re.compile(r"首次|首个|首款|首例|首台|首位|全球首|正式|问世|亮相|发布会|揭晓|开幕|上线|震撼|重磅")


# learned predicates that, across a clause break, were wrong four times in five on held-out
# documents (leave-one-out): a field or a place named in another clause is rarely the pair's
_WITHIN_CLAUSE = frozenset({"inField", "basedOn", "locatedIn"})
_CLAUSE_BREAK = re.compile(r"[，,；;。！？]")

_FIELD_LIST_REACH = 4  # sentences between a heading and its 主要参与者 line

# "1 无所不在的人工智能", "TOP1：量子计算", "二、": a number then a separator or Chinese (not 6DoF)
_NUMBERED = re.compile(r"^\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3}|TOP\s*\d{1,2})(?:\s*[、.．:：]\s*|\s+|(?=[\u4e00-\u9fff]))")


def _listing_headings(document: Document, patterns: Patterns) -> set[int]:
    """Headings followed within a few sentences by a participants list (主要参与者：…)."""
    lists = field_list_heading(patterns)
    sentences = document.sentences
    return {i for i, s in enumerate(sentences) if s.section == s.text and
            any(lists.match(t.text) for t in sentences[i + 1:i + 1 + _FIELD_LIST_REACH])}


def _section_topic(text: str, mentions, patterns: Patterns, *, numbered: bool = False) -> Candidate | None:
    """A short heading that is one noun phrase names its section's technology in full.

    "5 增强型地热系统", "超高效太阳能电池": the topic is the whole phrase, not the shorter
    field inside it (a reader files the section under what the heading says); a heading
    with no entity at all (减肥药) is named by its words. A phrase with 的, a leading
    ordinal or demonstrative (无所不在的人工智能, 首例基因编辑治疗), or another kind of name
    keeps its field. Only numbered headings, or headings over a participants list, count:
    PDF text breaks lines anywhere (市暗藏脑机接口), and a fragment is no heading.
    """
    m = _NUMBERED.match(text)
    start = m.end() if m and m.end() < len(text) else 0
    topic = text[start:].rstrip()
    if not 2 <= len(topic) <= 12 or not re.fullmatch(r"[\u4e00-\u9fffA-Za-z0-9·\- ]+", topic) or "的" in topic:
        return None
    if not (m or numbered):
        return None
    if mentions:
        if len(mentions) > 1 or mentions[0].type != "Technology":
            return None
        field = mentions[0]
        head = topic[field.end - start:]
        if field.start == start and not head or head == "技术":
            return None  # the field is the heading (热泵, 芯粒技术)
        lead = topic[:field.start - start]
        if len(lead) > 4 or lead.startswith(("首", "第", "这", "那", "该")) or \
                lead in patterns.entities.get("tech_generic_modifiers", ()):
            return None
        if head and not re.fullmatch(_alternation_of(patterns.entities.get("heading_heads", ())), head):
            return None
    return Candidate(start, start + len(topic), "Technology", "rule:section-topic",
                     patterns.rconf("section_topic"))


def _event(n: int, start: int, end: int, name: str, method: str, conf: float, participants,
           relations: list) -> Candidate:
    """A new event mention of sentence n, its participants (mentions of that sentence) recorded."""
    event = Candidate(start, end, "Event", method, conf, name)
    for who in participants:
        relations.append(ExtractedRelation((n, start, end), "participant", (n, who.start, who.end), n, method, conf))
    return event


def _label_of(c: Candidate, text: str) -> str:
    return c.canonical or text[c.start:c.end]


MentionRef = tuple[int, int, int]  # (sentence index, start, end) within a document


@dataclass(frozen=True)
class ExtractedRelation:
    subject: MentionRef
    predicate: str
    object: MentionRef
    sentence: int  # the evidence sentence
    method: str
    confidence: float


@dataclass(frozen=True)
class SentenceExtraction:
    sentence: int
    mentions: tuple[Candidate, ...]
    relations: tuple[ExtractedRelation, ...]
    aliases: tuple[tuple[MentionRef, MentionRef, str], ...]
    tokens: tuple[tuple[int, int], ...] = ()


class Extractor:
    """Runs the right pipeline per sentence language and adds document-level rules."""

    def __init__(self, lexicon: Lexicon, patterns: Patterns, *, ner=None, relation_model=None) -> None:
        self.relation_model = relation_model
        self.lexicon = lexicon
        self.patterns = patterns
        self.zh = build_nlp(lexicon, patterns, lang="zh", ner=ner)
        self._broader = frozenset(lexicon.broader)
        self._en: Language | None = None
        self.ner = ner

    @property
    def en(self) -> Language:
        if self._en is None:
            self._en = build_nlp(self.lexicon, self.patterns, lang="en")
        return self._en

    def _docs(self, document: Document) -> Iterable[Doc]:
        nlp = self.zh if document.language == "zh" else self.en
        # segment the whole document first: jieba's dictionary stays in the CPU caches when
        # its calls are not interleaved with the rules (about half the segmentation time)
        made = [nlp.make_doc(sentence.text) for sentence in document.sentences]
        procs = [proc for _, proc in nlp.pipeline]  # the property builds a new list per call
        for sentence, doc in zip(document.sentences, made):
            doc.user_data["section"] = sentence.section
            doc.user_data["text"] = sentence.text
            for proc in procs:
                doc = proc(doc)
            yield doc

    def extract(self, document: Document) -> list[SentenceExtraction]:
        out: list[SentenceExtraction] = []
        section_tech: MentionRef | None = None
        titled: MentionRef | None = None  # the field a whole section is about, from a title that names it
        current_section = None
        listed = _listing_headings(document, self.patterns)
        field_conf = self.patterns.rconf("field_list")
        date_context = DateContext(year=year_of(document.meta.get("date")))
        for sentence, doc in zip(document.sentences, self._docs(document)):
            n = sentence.index
            ext = doc._
            mentions = tuple(ext.techkg_mentions or ())
            ref = [(n, m.start, m.end) for m in mentions]
            relations = [ExtractedRelation(ref[r.subject], r.predicate, ref[r.object], n, r.method, r.confidence)
                         for r in ext.techkg_relations or ()]
            if sentence.section != current_section:
                current_section = sentence.section
                section_tech = titled = None
            if sentence.section == sentence.text:
                topic = _section_topic(sentence.text, mentions, self.patterns, numbered=n in listed)
                techs = [m for m in mentions if m.type == "Technology"]
                if topic is not None:
                    mentions = tuple(m for m in mentions if not (topic.start <= m.start and m.end <= topic.end))
                    mentions = tuple(sorted(mentions + (topic,), key=lambda c: (c.start, c.end)))
                    ref = [(n, m.start, m.end) for m in mentions]
                    relations = [r for r in relations if r.subject in ref and r.object in ref]
                    section_tech = titled = (n, topic.start, topic.end)
                elif techs:
                    section_tech = (n, techs[0].start, techs[0].end)
                    if RANKED_TITLE.match(sentence.text):
                        titled = section_tech  # "TOP5：自动驾驶，…": a ranked entry leads with its field
            # a list of participants belongs to the heading just above it, not to one far back
            if section_tech is not None and n - section_tech[0] <= _FIELD_LIST_REACH:
                for i in field_list(sentence.text, mentions, self.patterns):
                    relations.append(ExtractedRelation(ref[i], "inField", section_tech, n, "rule:field-list",
                                                       field_conf))
            if titled is not None and sentence.section != sentence.text:
                relations.extend(self._section_fields(n, mentions, relations, titled))
            present = {(m.start, m.end) for m in mentions}
            aliases = tuple(((n, a.start, a.end), (n, b.start, b.end), why)
                            for a, b, why in (ext.techkg_aliases or ())
                            if (a.start, a.end) in present and (b.start, b.end) in present)
            relations.extend(self._taxonomy(sentence.text, n, mentions))
            dates, date_context = find_dates(sentence.text, date_context)
            mentions, relations = self._launch_events(sentence.text, n, mentions, relations, dates)
            mentions, relations = self._happenings(sentence.text, n, mentions, relations)
            mentions, relations = self._policy_events(sentence.text, n, mentions, relations, dates)
            tokens = doc.user_data.get("tokens", ())
            if self.relation_model is not None:
                relations.extend(self._learned(sentence.text, n, tokens, mentions, relations))
            out.append(SentenceExtraction(n, mentions, tuple(relations), aliases, tokens))
        return out

    def _section_fields(self, n: int, mentions: tuple[Candidate, ...], relations: list,
                        section_tech: MentionRef) -> list[ExtractedRelation]:
        """A product named in a section whose title is its field is in that field (Wegovy under
        "8 减肥药", El Capitan under "百亿亿次计算机" above its participants list), unless the
        sentence already gives it one. Only a title that names the field in full (a numbered one,
        or one over a participants list) or a ranked entry (TOP5：自动驾驶，…) counts: another
        short line with a technology in it (a PDF fragment, "从LLM走向LMM") does not say what a
        whole section is about."""
        fielded = {r.subject for r in relations if r.predicate == "inField"}
        conf = self.patterns.rconf("section_field")
        return [ExtractedRelation((n, m.start, m.end), "inField", section_tech, n, "rule:section-field", conf)
                for m in mentions if m.type == "Product" and (n, m.start, m.end) not in fielded]

    def _learned(self, text: str, n: int, tokens, mentions: tuple[Candidate, ...],
                 relations: list) -> list[ExtractedRelation]:
        """Pairs the relation model relates and no rule did (the rules' reading wins)."""
        if len(mentions) < 2:
            return []  # no pair to look at (most sentences): skip building the rules' pairs
        ruled = {(r.subject, r.object) for r in relations} | {(r.object, r.subject) for r in relations}
        index = {(n, m.start, m.end): i for i, m in enumerate(mentions)}
        skip = frozenset((index[a], index[b]) for a, b in ruled if a in index and b in index)
        out = []
        for pair, predicate, prob in self.relation_model.predict(text, tokens, mentions, skip):
            a, b = mentions[pair.subject], mentions[pair.object]
            if predicate in _WITHIN_CLAUSE and _CLAUSE_BREAK.search(text, min(a.end, b.end), max(a.start, b.start)):
                continue
            s, o = (n, a.start, a.end), (n, b.start, b.end)
            if (s, o) not in ruled:
                out.append(ExtractedRelation(s, predicate, o, n, "model:relations", round(prob * 0.85, 3)))
        return out

    def _taxonomy(self, text: str, n: int, mentions: tuple[Candidate, ...]) -> list[ExtractedRelation]:
        """Two technologies of one sentence that the lexicon's taxonomy relates: broader, with this evidence."""
        techs = [m for m in mentions if m.type == "Technology"]
        if len(techs) < 2:
            return []
        conf = self.patterns.rconf("taxonomy")
        out = []
        for a in techs:
            for b in techs:
                if a is not b and (_label_of(a, text), _label_of(b, text)) in self._broader:
                    out.append(ExtractedRelation((n, a.start, a.end), "broader", (n, b.start, b.end), n,
                                                 "lexicon:taxonomy", conf))
        return out

    def _policy_events(self, text: str, n: int, mentions: tuple[Candidate, ...], relations: list,
                       dates) -> tuple[tuple[Candidate, ...], list]:
        """A dated sentence where a body or a country issues a named policy (印发《…》) is an
        event: '工信部印发人形机器人创新发展指导意见', the body its participant, the country its place."""
        verbs = self.patterns.entities.get("policy_event_verbs", ())
        policies = [m for m in mentions if m.type == "Policy"]
        if not dates or not policies or not verbs:
            return mentions, relations
        conf = self.patterns.rconf("event_roles")
        taken = {(m.start, m.end) for m in mentions}
        added = []
        for policy in policies:
            clause_start = max((text.rfind(p, 0, policy.start) for p in "，。；;！？"), default=-1) + 1
            before = text[clause_start:policy.start]
            verb = next((v for v in sorted(verbs, key=len, reverse=True)
                         if re.search(re.escape(v) + r"(?:了|修订后的|修订版|新版)?[^，。；]{0,12}$", before)), None)
            if verb is None:
                continue
            at = clause_start + before.rfind(verb)
            actors = [m for m in mentions if m.type in ("Organization", "Place") and clause_start <= m.start
                      and m.end <= at and not text[m.end:at].strip("的 ")[4:]]
            if not actors:
                continue
            actor = actors[-1]
            span = (actor.start, policy.end)
            if span in taken:
                continue
            name = f"{text[actor.start:actor.end]}{verb}{text[policy.start:policy.end].strip('《》')}"
            event = Candidate(span[0], span[1], "Event", "rule:policy-event", conf, name)
            taken.add(span)
            added.append(event)
            ref = (n, event.start, event.end)
            predicate = "participant" if actor.type == "Organization" else "locatedIn"
            relations.append(ExtractedRelation(ref, predicate, (n, actor.start, actor.end), n, "rule:policy-event", conf))
        return mentions + tuple(added), relations

    def _happenings(self, text: str, n: int, mentions: tuple[Candidate, ...],
                    relations: list) -> tuple[tuple[Candidate, ...], list]:
        """A named organisation or product right before a milestone verb (破产, 首次亮相, 登陆科创板)
        is an event: 'WeWork破产', with the name as participant. The date comes from the
        sentence or the text before it (resolution gives events the nearest date)."""
        verbs = self.patterns.entities.get("happening_verbs", ())
        if not verbs or not any(v in text for v in verbs):
            return mentions, relations
        gap_words = tuple(self.patterns.entities.get("happening_gap", ()))
        conf = self.patterns.rconf("event_roles")
        taken = {(m.start, m.end) for m in mentions}
        added = []
        for m in mentions:
            if m.type not in ("Organization", "Product"):
                continue
            pos = m.end
            rest = text[pos:pos + 12]
            gap = re.match(r"[\s”\"》」]*(?:[\u4e00-\u9fff]{0,4}?(?:" + "|".join(map(re.escape, gap_words)) + r"))?\s*",
                           rest) if gap_words else None
            closing = len(rest) - len(rest.lstrip("”\"》」 "))
            direct = next((v for v in sorted(verbs, key=len, reverse=True) if text.startswith(v, pos + closing)), None)
            skip = gap.end() if gap else 0
            if direct is not None:  # 正式上线 right after the name: the longest verb as written
                skip = closing
            if skip and not re.fullmatch(r"[\s”\"》」]*", rest[:skip]) and \
                    not any(rest[:skip].strip("”\"》」 ").endswith(w) for w in gap_words):
                skip = 0
            verb = next((v for v in sorted(verbs, key=len, reverse=True) if text.startswith(v, pos + skip)), None)
            if verb is None:
                verb = next((v for v in sorted(verbs, key=len, reverse=True)
                             if text.startswith(v, pos + len(rest) - len(rest.lstrip("”\"》」 ")))), None)
                skip = len(rest) - len(rest.lstrip("”\"》」 "))
                if verb is None:
                    continue
            end = pos + skip + len(verb)
            if (m.start, end) in taken:
                continue
            taken.add((m.start, end))
            added.append(_event(n, m.start, end, f"{_label_of(m, text)}{verb}", "rule:happening", conf, [m], relations))
        return mentions + tuple(added), relations

    def _launch_events(self, text: str, n: int, mentions: tuple[Candidate, ...], relations: list,
                       dates) -> tuple[tuple[Candidate, ...], list]:
        """A dated launch is a milestone: "2024年2月，OpenAI发布Sora" → event OpenAI发布Sora.

        Only when the sentence gives at least a month and frames a first or an official
        launch, so that not every sentence with 发布 becomes an event.
        """
        precise = [d for d in dates if len(d.iso) >= 7]
        if not precise:
            return mentions, relations
        mentions, relations = self._nominal_launches(text, n, mentions, relations)
        mentions, relations = self._approvals(text, n, mentions, relations)
        if not _MILESTONE.search(text):
            return mentions, relations
        by_ref = {(n, m.start, m.end): m for m in mentions}
        taken = {(m.start, m.end) for m in mentions}
        conf = self.patterns.rconf("event_roles")
        for r in list(relations):
            if r.predicate != "develops" or r.method != "rule:develops-verb":
                continue
            subject, obj = by_ref.get(r.subject), by_ref.get(r.object)
            if subject is None or obj is None or obj.type != "Product":
                continue
            date = precise[0]
            if (date.start, date.end) in taken:
                continue
            taken.add((date.start, date.end))
            mentions = mentions + (_event(n, date.start, date.end, f"{_label_of(subject, text)}发布{_label_of(obj, text)}",
                                          "rule:launch-event", conf, [subject, obj], relations),)
        return mentions, relations


    def _nominal_launches(self, text: str, n: int, mentions: tuple[Candidate, ...],
                          relations: list) -> tuple[tuple[Candidate, ...], list]:
        """"2022 年 5 月，Frontier 的推出撼动了…": a named product's launch as a noun, dated to
        the month, is a milestone: event Frontier推出, the product its participant."""
        conf = self.patterns.rconf("event_roles")
        taken = {(m.start, m.end) for m in mentions}
        added = []
        for m in mentions:
            if m.type != "Product":
                continue
            verb = LAUNCH_NOUN.match(text, m.end)
            if verb is None or (m.start, verb.end()) in taken:
                continue
            taken.add((m.start, verb.end()))
            added.append(_event(n, m.start, verb.end(), f"{_label_of(m, text)}{verb.group(1)}", "rule:launch-event",
                                conf, [m], relations))
        return mentions + tuple(added), relations

    def _approvals(self, text: str, n: int, mentions: tuple[Candidate, ...],
                   relations: list) -> tuple[tuple[Candidate, ...], list]:
        """"2023 年 11 月，美国食品和药物管理局批准了礼来公司用于治疗肥胖症的糖尿病药物 Zepbound":
        a dated approval of a named product is a milestone. The body that approves, the product
        and the organisations named between them (the maker) are its participants."""
        conf = self.patterns.rconf("event_roles")
        taken = {(m.start, m.end) for m in mentions}
        added = []
        for t in _APPROVAL.finditer(text):
            bodies = [m for m in mentions if m.type == "Organization" and m.end <= t.start()
                      and not text[m.end:t.start()].strip()[6:] and not re.search(r"[，。；]", text[m.end:t.start()])]
            _, clause_end = _clause_bounds(text, t.end())
            products = [m for m in mentions if m.type == "Product" and t.end() <= m.start < clause_end]
            if not bodies or not products:
                continue
            body, product = bodies[-1], products[0]
            span = (body.start, product.end)
            if span in taken:
                continue
            makers = [m for m in mentions if m.type == "Organization" and t.end() <= m.start and m.end <= product.start]
            taken.add(span)
            added.append(_event(n, span[0], span[1], f"{_label_of(body, text)}批准{_label_of(product, text)}",
                                "rule:approval-event", conf, [body, product, *makers], relations))
        return mentions + tuple(added), relations


def to_mentions(document: Document, extractions: Sequence[SentenceExtraction]) -> list[Mention]:
    mentions = []
    for ex in extractions:
        sentence = document.sentences[ex.sentence]
        for c in ex.mentions:
            mentions.append(Mention(doc=document.name, sentence=ex.sentence, start=c.start, end=c.end,
                                    text=sentence.text[c.start:c.end], type=c.type, method=c.method,
                                    confidence=c.confidence, canonical=c.canonical))
    return mentions
