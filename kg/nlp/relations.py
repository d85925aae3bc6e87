"""Relation rules over the typed mentions of one sentence.

Each rule looks for a trigger (发布, 基于, 旗下, 收购 …) and picks its arguments by type
and position: the subject is the nearest fitting mention before the trigger, objects are
the fitting mentions after it up to the end of the clause, with coordinated lists
(A、B 和 C) expanded into one relation each. Every relation is type-checked against the
ontology's domains and ranges before it is proposed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from kg.model import admits
from kg.nlp.patterns import Patterns
from kg.nlp.rules import Candidate

_CLAUSE = re.compile(r"[，,；;。！？!?：:]")
_COPULA = re.compile(r"(?:也|就|则|正|即)?是(?:一种|一类|一项|一个)?")
_PARENS = re.compile(r"[（(][^（）()]*[）)]")
_SUBJECT_GAP = re.compile(r"\s*[）)]?\s*(?:技术)?\s*")
_CLAUSE_END = re.compile(r"\s*(?:[，,；;。！？!?]|$)")
# after the class: the clause ends, perhaps after 技术 and 中的一大热点 / 之一
_CLASS_END = re.compile(r"\s*(?:技术|产品)?\s*(?:(?:中|里)的[\u4e00-\u9fff]{0,6}|之一)?\s*(?:[，,；;。！？!?]|$)")
_ORG_KIND = r"(?:科技|技术|软件|芯片|半导体|生物|医药|能源|汽车|电池)?(?:公司|企业|厂商|巨头|大厂|独角兽|初创公司|初创企业|创业公司|机构)"
# 等 then a kind of company, perhaps qualified by a place or a field: 等中国电池厂商, 等量子初创公司
_LISTED_KIND = re.compile(r"\s*等\s*((?:[^，,。；;、（）()等]{0,8}?)" + _ORG_KIND + ")")
_COORD = re.compile(r"^\s*(?:、|，|,|和|与|及|以及|或|跟|同|还有|及其)\s*$")


@dataclass(frozen=True)
class RelCandidate:
    subject: int  # index into the sentence's mentions
    predicate: str
    object: int
    method: str
    confidence: float


def _modifier(text: str, m: Candidate) -> bool:
    """A technology glued to a following noun only modifies it (量子计算系统)."""
    nxt = text[m.end:m.end + 1]
    return m.type == "Technology" and bool(re.match(r"[\u4e00-\u9fff]", nxt)) and nxt not in "的和与及等或"


def _describes_next(text: str, ms: Sequence[Candidate], i: int) -> bool:
    """A technology right before a product only names its kind (量子芯片 Heron, 量子比特的 Heron)."""
    if ms[i].type != "Technology" or i + 1 >= len(ms) or ms[i + 1].type != "Product":
        return False
    return bool(re.fullmatch(r"\s*的?\s*[“\"「]?\s*", text[ms[i].end:ms[i + 1].start]))


def _clause_bounds(text: str, pos: int) -> tuple[int, int]:
    start = 0
    for m in _CLAUSE.finditer(text, 0, pos):
        start = m.end()
    m = _CLAUSE.search(text, pos)
    return start, (m.start() if m else len(text))


def _coordinated(text: str, mentions: Sequence[Candidate], idx: int, direction: int,
                 types: frozenset[str]) -> list[int]:
    """Mentions joined to mentions[idx] by 、/和/与/及 in one direction."""
    out = []
    i = idx
    while 0 <= i + direction < len(mentions):
        j = i + direction
        a, b = (mentions[i], mentions[j]) if direction > 0 else (mentions[j], mentions[i])
        gap = text[a.end:b.start]
        if not _COORD.match(gap) or mentions[j].type not in types:
            break
        out.append(j)
        i = j
    return out


class RelationRules:
    def __init__(self, patterns: Patterns) -> None:
        self.p = patterns

    def find(self, text: str, mentions: Sequence[Candidate], *, section_tech: int | None = None,
             section_mentions: Sequence[Candidate] = ()) -> list[RelCandidate]:
        if len(mentions) < 2:
            # a relation joins two different mentions (self-relations are dropped below), and
            # most sentences name fewer than two things: none of the thirteen rules can fire
            return []
        out: list[RelCandidate] = []
        out += self._develops(text, mentions)
        out += self._based_on(text, mentions)
        out += self._subsidiary(text, mentions)
        out += self._partner(text, mentions)
        out += self._acquires_invests(text, mentions)
        out += self._affiliation(text, mentions)
        out += self._located(text, mentions)
        out += self._apposition(text, mentions)
        out += self._engagement(text, mentions)
        out += self._event_roles(text, mentions)
        out += self._possessive(text, mentions)
        out += self._hearst(text, mentions)
        out += self._copula(text, mentions)
        out += self._regulates(text, mentions)
        return [r for r in _dedupe(out) if r.subject != r.object and
                admits(r.predicate, mentions[r.subject].type, mentions[r.object].type)]

    # --- develops: A 发布/推出/研发 B -------------------------------------------------
    def _develops(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        agents = frozenset({"Organization", "Person"})
        things = frozenset({"Product", "Technology"})
        conf = self.p.rconf("develops")
        for t in self.p.trigger_re("develops").finditer(text):
            before = [i for i, m in enumerate(ms) if m.end <= t.start() and m.type in agents]
            after = [i for i, m in enumerate(ms) if m.start >= t.end() and m.type in things
                     and not _modifier(text, m) and not _describes_next(text, ms, i)]
            if not before or not after:
                continue
            subj = before[-1]
            # a product between subject and trigger means the subject is not the developer
            between = [m for m in ms if ms[subj].end <= m.start and m.end <= t.start()]
            if any(m.type in ("Organization",) for m in between):
                continue
            subjects = [subj] + _coordinated(text, ms, subj, -1, agents)
            _, clause_end = _clause_bounds(text, t.end())
            objects = [i for i in after if ms[i].start < clause_end]
            if not objects:
                objects = [after[0]] if ms[after[0]].start - t.end() <= 12 else []
            for s in subjects:
                for o in objects:
                    out.append(RelCandidate(s, "develops", o, "rule:develops-verb", conf))
        # "B 由 A 研发/开发" (passive)
        for m in re.finditer(r"由", text):
            before = [i for i, x in enumerate(ms) if x.end <= m.start() and x.type in things]
            after = [i for i, x in enumerate(ms) if x.start >= m.end() and x.type in agents]
            if before and after and self.p.trigger_re("develops").match(text, ms[after[0]].end):
                out.append(RelCandidate(after[0], "develops", before[-1], "rule:develops-passive", conf))
        return out

    # --- basedOn: 基于 A 的 B / B 基于 A / B 搭载 A -------------------------------------
    def _based_on(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        conf = self.p.rconf("based_on")
        for t in self.p.trigger_re("based_on").finditer(text):
            after = [i for i, m in enumerate(ms) if m.start >= t.end()]
            if not after:
                continue
            first = after[0]
            if ms[first].start - t.end() > 3:
                continue
            firsts = [first] + _coordinated(text, ms, first, 1, frozenset({"Product", "Technology"}))
            last = firsts[-1]
            tail = text[ms[last].end:ms[last].end + 3].lstrip()
            if tail.startswith("的") and text.startswith("基于", t.start()):
                products = [i for i in after if i > last and ms[i].type == "Product" and ms[i].start - ms[last].end <= 12]
                for o in firsts:
                    if products:
                        out.append(RelCandidate(products[0], "basedOn", o, "rule:based-on", conf))
                continue
            before = [i for i, m in enumerate(ms) if m.end <= t.start() and m.type == "Product"]
            if before and t.start() - ms[before[-1]].end <= 8:
                for o in firsts:
                    out.append(RelCandidate(before[-1], "basedOn", o, "rule:based-on", conf))
        return out

    # --- 旗下: A 旗下(的) B -----------------------------------------------------------
    def _subsidiary(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        conf = self.p.rconf("subsidiary")
        for t in self.p.trigger_re("subsidiary").finditer(text):
            before = [i for i, m in enumerate(ms) if m.end <= t.start() and t.start() - m.end <= 3]
            after = [i for i, m in enumerate(ms) if m.start >= t.end() and m.start - t.end() <= 4]
            if not before or not after:
                continue
            owner, owned = before[-1], after[0]
            owned_all = [owned] + _coordinated(text, ms, owned, 1, frozenset({"Organization", "Product"}))
            for o in owned_all:
                if ms[owner].type == "Person":
                    out.append(RelCandidate(owner, "affiliatedWith", o, "rule:subsidiary", conf))
                elif ms[o].type == "Organization":
                    out.append(RelCandidate(o, "subsidiaryOf", owner, "rule:subsidiary", conf))
                elif ms[o].type == "Product":
                    out.append(RelCandidate(owner, "develops", o, "rule:subsidiary-product", conf - 0.1))
        return out

    # --- partnerOf: A 与 B 合作 / 携手 -------------------------------------------------
    def _partner(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        conf = self.p.rconf("partner")
        agents = frozenset({"Organization", "Person"})
        for t in self.p.trigger_re("partner").finditer(text):
            clause_start, clause_end = _clause_bounds(text, t.start())
            inside = [i for i, m in enumerate(ms) if clause_start <= m.start and m.end <= t.start() and m.type in agents]
            trigger = t.group(0)
            if trigger in ("携手", "联手", "联合"):
                after = [i for i, m in enumerate(ms) if m.start >= t.end() and m.end <= clause_end and m.type in agents]
                if inside and after:
                    for o in [after[0]] + _coordinated(text, ms, after[0], 1, agents):
                        out.append(RelCandidate(inside[-1], "partnerOf", o, "rule:partner", conf))
                continue
            if len(inside) >= 2:
                gap = text[ms[inside[-2]].end:ms[inside[-1]].start]
                if re.fullmatch(r"\s*(?:与|和|同|跟|及|、)\s*", gap):
                    group = [inside[-1]] + _coordinated(text, ms, inside[-1], -1, agents)
                    for a in range(len(group)):
                        for b in range(a + 1, len(group)):
                            out.append(RelCandidate(group[b], "partnerOf", group[a], "rule:partner", conf))
            if trigger == "合作伙伴":
                after = [i for i, m in enumerate(ms) if m.start >= t.end() and m.end <= clause_end and m.type in agents]
                if inside and after:
                    out.append(RelCandidate(inside[-1], "partnerOf", after[0], "rule:partner", conf))
            # A …(宣布)与 B (建立|构建|达成)…合作(伙伴关系): the subject may stand before the clause
            if inside:
                b = inside[-1]
                lead = text[max(0, ms[b].start - 2):ms[b].start]
                between = text[ms[b].end:t.start()]
                if re.search(r"(?:与|和|同|跟)\s*$", lead) and len(between) <= 8 and not _CLAUSE.search(between):
                    before = [i for i, m in enumerate(ms) if m.end <= ms[b].start - len(lead.rstrip()) + 0
                              and m.type in agents and i != b]
                    if before and not _CLAUSE.search(text[ms[before[-1]].end:ms[b].start]) or \
                            before and ms[b].start - ms[before[-1]].end <= 30:
                        out.append(RelCandidate(before[-1], "partnerOf", b, "rule:partner-with", conf - 0.05))
        return out

    # --- acquires / investsIn ---------------------------------------------------------
    def _acquires_invests(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        agents = frozenset({"Organization", "Person"})
        for family, predicate in (("acquires", "acquires"), ("invests", "investsIn")):
            conf = self.p.rconf(family)
            for t in self.p.trigger_re(family).finditer(text):
                clause_start, clause_end = _clause_bounds(text, t.start())
                before = [i for i, m in enumerate(ms) if m.end <= t.start() and m.type in agents and m.start >= clause_start]
                after = [i for i, m in enumerate(ms) if m.start >= t.end() and m.end <= clause_end and m.type == "Organization"]
                if before and after:
                    for s in [before[-1]] + _coordinated(text, ms, before[-1], -1, agents):
                        out.append(RelCandidate(s, predicate, after[0], f"rule:{family}", conf))
                elif family == "invests" and before and t.group(0) in ("领投", "参投"):
                    target = [i for i, m in enumerate(ms) if m.end <= clause_start and m.type == "Organization"]
                    if target:
                        out.append(RelCandidate(before[-1], predicate, target[0], "rule:invests-lead", conf - 0.1))
        # "B 获得 A 的投资", "B 完成由 A 领投的融资": the investor comes after, the investee before
        conf = self.p.rconf("invests")
        for t in self.p.trigger_re("invests", "passive").finditer(text):
            clause_start, clause_end = _clause_bounds(text, t.start())
            money = re.search(r"(?:投资|融资|注资|领投)", text[t.end():clause_end])
            if not money:
                continue
            stop = t.end() + money.start()
            investee = [i for i, m in enumerate(ms) if clause_start <= m.start and m.end <= t.start()
                        and m.type == "Organization"]
            investors = [i for i, m in enumerate(ms) if t.end() <= m.start and m.end <= stop and m.type in agents]
            if investee and investors:
                for i in investors:
                    out.append(RelCandidate(i, "investsIn", investee[-1], "rule:invests-passive", conf - 0.05))
        return out

    # --- affiliatedWith: ORG 的 ROLE PERSON / PERSON（ORG ROLE） -----------------------
    def _affiliation(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        conf = self.p.rconf("affiliation")
        role_re = self.p.role_re
        for i, m in enumerate(ms):
            if m.type != "Person":
                continue
            # ORG … ROLE … PERSON with only role words, 的, 兼, spaces between
            orgs = [j for j in range(i) if ms[j].type == "Organization"]
            if orgs:
                j = orgs[-1]
                gap = text[ms[j].end:m.start]
                rest = role_re.sub("", gap)
                rest = re.sub(r"[\s的兼、和及与、]|前任|现任|联合|首位|公司", "", rest)
                if gap and role_re.search(gap) and len(rest) <= 4:
                    out.append(RelCandidate(i, "affiliatedWith", j, "rule:role-affiliation", conf))
                    continue
            # PERSON，ORG (的)? ROLE
            later = [j for j in range(i + 1, len(ms)) if ms[j].type == "Organization"]
            if later:
                j = later[0]
                gap = text[m.end:ms[j].start]
                tail = text[ms[j].end:ms[j].end + 10]
                if re.fullmatch(r"\s*[（(，,、是为任]?\s*(?:担任|现任|任)?\s*", gap) and role_re.match(tail.lstrip("的 ")):
                    out.append(RelCandidate(i, "affiliatedWith", j, "rule:role-affiliation", conf - 0.05))
        return out

    # --- locatedIn -------------------------------------------------------------------
    def _located(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        conf = self.p.rconf("located")
        for t in self.p.trigger_re("located").finditer(text):
            before = [i for i, m in enumerate(ms) if m.end <= t.start() and m.type in ("Organization", "Event")]
            after = [i for i, m in enumerate(ms) if m.start >= t.end() and m.type == "Place" and m.start - t.end() <= 2]
            if not after:
                continue
            if before and t.start() - ms[before[-1]].end <= 6:
                out.append(RelCandidate(before[-1], "locatedIn", after[0], "rule:located", conf))
            else:
                # 位于 PLACE 的 ORG
                places = [after[0]]
                while places[-1] + 1 < len(ms) and ms[places[-1] + 1].type == "Place" and \
                        ms[places[-1] + 1].start - ms[places[-1]].end <= 1:
                    places.append(places[-1] + 1)
                nxt = [i for i, m in enumerate(ms) if m.start > ms[places[-1]].end and m.type == "Organization"]
                if nxt and re.fullmatch(r"\s*的\s*", text[ms[places[-1]].end:ms[nxt[0]].start]):
                    for p_ in places:
                        out.append(RelCandidate(nxt[0], "locatedIn", p_, "rule:located", conf))
        for t in self.p.trigger_re("located", "event_triggers").finditer(text):
            places = [i for i, m in enumerate(ms) if m.end <= t.start() and m.type == "Place" and t.start() - m.end <= 4]
            events = [i for i, m in enumerate(ms) if m.type == "Event" and abs(m.start - t.end()) <= 8]
            if places and events and re.search(r"在\s*$", text[:ms[places[-1]].start]):
                out.append(RelCandidate(events[0], "locatedIn", places[-1], "rule:located-event", conf))
        adjacent = self.p.rconf("located", "adjacent_confidence")
        for i in range(len(ms) - 1):
            a, b = ms[i], ms[i + 1]
            if a.type == "Place" and b.type == "Organization" and re.fullmatch(r"\s*的?\s*", text[a.end:b.start]):
                if not re.search(r"(?:和|与|、|及)\s*$", text[:a.start]):
                    out.append(RelCandidate(i + 1, "locatedIn", i, "rule:place-org", adjacent))
        return out

    # --- inField by apposition: 量子芯片 Heron, 脑机接口公司 Neuralink ---------------------
    def _apposition(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        """Kind words next to a name: 文生视频大模型Sora, “Optimus”人形机器人, 上海AI+大数据科技公司合合信息."""
        out = []
        conf = self.p.rconf("apposition")
        kind = self.p.product_type_prefix_re.pattern
        for i in range(len(ms) - 1):
            a, b = ms[i], ms[i + 1]
            gap = text[a.end:b.start]
            if a.type == "Technology" and b.type == "Product" and re.fullmatch(
                    rf"\s*(?:{kind})?\s*[“\"「]?\s*", gap):
                out.append(RelCandidate(i + 1, "inField", i, "rule:apposition", conf))
            elif a.type == "Product" and b.type == "Technology" and re.fullmatch(r"\s*[”\"」]?\s*", gap) \
                    and not re.match(r"[\u4e00-\u9fff]", text[b.end:b.end + 1] or " ") :
                out.append(RelCandidate(i, "inField", i + 1, "rule:apposition", conf - 0.1))
        out += self._listed_kind(text, ms, conf)
        # a descriptor ending in 公司/企业 before an organisation: its places and fields
        for j, org in enumerate(ms):
            if org.type != "Organization":
                continue
            head = re.search(_ORG_KIND + r"\s*[（(]?\s*(?:如|例如|比如|包括)?\s*$", text[max(0, org.start - 12):org.start])
            if not head:
                continue
            head_start = org.start - (len(text[max(0, org.start - 12):org.start]) - head.start())
            group = [j] + _coordinated(text, ms, j, 1, frozenset({"Organization"}))
            k = j - 1
            while k >= 0 and ms[k].end <= head_start and not _CLAUSE.search(text[ms[k].end:head_start]) \
                    and head_start - ms[k].end <= 8:
                if ms[k].type == "Place":
                    out.extend(RelCandidate(g, "locatedIn", k, "rule:descriptor", conf) for g in group)
                elif ms[k].type == "Technology":
                    out.extend(RelCandidate(g, "inField", k, "rule:descriptor", conf) for g in group)
                else:
                    break
                head_start = ms[k].start
                k -= 1
        return out

    def _listed_kind(self, text: str, ms: Sequence[Candidate], conf: float) -> list[RelCandidate]:
        """"宁德时代、比亚迪、中创新航等中国电池厂商", "以美国 Intel、Nvidia、高通等芯片公司为龙头": a list
        of organisations closed by 等 and a kind of company; a place or a field named in the
        kind, or a place right before the list, holds for every member."""
        out = []
        orgs = frozenset({"Organization"})
        for j, org in enumerate(ms):
            if org.type != "Organization" or (j + 1 < len(ms) and ms[j + 1].type == "Organization"
                                              and _COORD.match(text[org.end:ms[j + 1].start])):
                continue  # only the last member of a list
            kind = _LISTED_KIND.match(text, org.end)
            if not kind:
                continue
            group = [j] + _coordinated(text, ms, j, -1, orgs)
            inside = [k for k, m in enumerate(ms) if kind.start(1) <= m.start and m.end <= kind.end(1)]
            first = ms[min(group)]
            lead = [k for k, m in enumerate(ms) if m.type == "Place" and m.end <= first.start
                    and re.fullmatch(r"\s*的?\s*", text[m.end:first.start])]
            for k in inside + lead:
                predicate = {"Place": "locatedIn", "Technology": "inField"}.get(ms[k].type)
                if predicate:
                    out.extend(RelCandidate(g, predicate, k, "rule:listed-kind", conf) for g in group)
        return out

    # --- inField by engagement: A 布局/深耕/进军 B, A 在 B 领域 --------------------------
    def _engagement(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        conf = self.p.rconf("engagement")
        agents = ("Organization", "Product", "Policy")
        for t in self.p.trigger_re("engagement").finditer(text):
            clause_start, clause_end = _clause_bounds(text, t.start())
            before = [i for i, m in enumerate(ms) if m.end <= t.start() and m.type in agents]
            after = [i for i, m in enumerate(ms) if m.start >= t.end() and m.start <= clause_end and m.type == "Technology"]
            if before and after and ms[after[0]].start - t.end() <= 6:
                subjects = [before[-1]] + _coordinated(text, ms, before[-1], -1, frozenset(agents))
                for s_ in subjects:
                    out.append(RelCandidate(s_, "inField", after[0], "rule:engagement", conf))
        for m in re.finditer(r"在", text):
            tech = [i for i, x in enumerate(ms) if x.start >= m.end() and x.start - m.end() <= 2 and x.type == "Technology"]
            if not tech:
                continue
            tail = text[ms[tech[0]].end:ms[tech[0]].end + 6]
            if not re.match(r"\s*(?:技术)?\s*(?:领域|方面|赛道|行业|市场)", tail):
                continue
            before = [i for i, x in enumerate(ms) if x.end <= m.start() and x.type in agents]
            if before and m.start() - ms[before[-1]].end <= 12:
                out.append(RelCandidate(before[-1], "inField", tech[0], "rule:engagement", conf))
        return out

    # --- develops by possession: 微软的 Bing Chat, 谷歌Gemini, 特斯拉的二代“Optimus” -------
    def _possessive(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        conf = self.p.rconf("possessive")
        for i in range(len(ms) - 1):
            a, b = ms[i], ms[i + 1]
            if a.type == "Organization" and b.type == "Product" and re.fullmatch(
                    r"\s*(?:的(?:[\u4e00-\u9fff]{0,4}?)?)?\s*[“\"「]?\s*", text[a.end:b.start]):
                if not re.search(r"(?:和|与|及|、)\s*$", text[:a.start]):
                    out.append(RelCandidate(i, "develops", i + 1, "rule:possessive", conf))
        return out

    # --- events: participants and fields of an event named in the sentence -----------
    def _event_roles(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        conf = self.p.rconf("event_roles")
        events = [i for i, m in enumerate(ms) if m.type == "Event"]
        for e in events:
            for i, m in enumerate(ms):
                if i == e or len(events) > 1 and _nearest_event(ms, events, i) != e:
                    continue
                if m.type in ("Organization", "Person", "Product"):
                    out.append(RelCandidate(e, "participant", i, "rule:event-participant", conf))
                elif m.type == "Technology" and not _modifier(text, m):
                    out.append(RelCandidate(e, "inField", i, "rule:event-field", conf - 0.05))
        return out

    # --- Hearst patterns: 以 A 为代表的 B; B，如 A、C; A 等 B ----------------------------
    def _hearst(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        conf = self.p.rconf("hearst")

        def link(member: int, cls: int, method: str) -> None:
            if ms[cls].type != "Technology":
                return
            pred = "broader" if ms[member].type == "Technology" else "inField"
            out.append(RelCandidate(member, pred, cls, method, conf))

        for m in re.finditer(r"以", text):
            members = [i for i, x in enumerate(ms) if x.start >= m.end() and x.start - m.end() <= 2]
            if not members:
                continue
            first = members[0]
            group = [first] + _coordinated(text, ms, first, 1, frozenset({ms[first].type}))
            tail_end = ms[group[-1]].end
            w = re.match(r"\s*(?:等)?\s*为(?:代表|首|例)的\s*", text[tail_end:])
            if not w:
                continue
            cls = [i for i, x in enumerate(ms) if x.start >= tail_end + w.end() and x.start - (tail_end + w.end()) <= 2]
            if cls:
                for g in group:
                    link(g, cls[0], "rule:hearst-represented")
        for i, x in enumerate(ms):
            gap = re.match(r"(?:技术|产业)?\s*[，,（(]?\s*(?:主要)?(?:如|例如|比如|包括|包含|诸如)\s*[:：]?\s*", text[x.end:])
            if gap and i + 1 < len(ms) and ms[i + 1].start == x.end + gap.end():
                group = [i + 1] + _coordinated(text, ms, i + 1, 1, frozenset({ms[i + 1].type}))
                for g in group:
                    link(g, i, "rule:hearst-such-as")
        for i, x in enumerate(ms):
            w = re.match(r"\s*等(?:多种|各类|新兴|前沿)?\s*", text[x.end:])
            if w and i + 1 < len(ms) and ms[i + 1].start == x.end + w.end() and i >= 1:
                group = [i] + _coordinated(text, ms, i, -1, frozenset({x.type}))
                for g in group:
                    link(g, i + 1, "rule:hearst-etc")
        return out

    # --- broader by copula: A 是一种 … B; …的 B 是 A --------------------------------------
    def _copula(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        """"锂离子电池是 20 世纪 90 年代开发成功的新型绿色二次电池", "燃料电池也是新能源电池技术中的一大热点":
        a technology said to be a kind of another. And the reverse order, "其中最为常见的燃料电池是
        氢燃料电池": a qualified class, 是, its member. The class must end its clause (是推动 AI
        发展的关键 describes, it does not classify), and nothing but a parenthesis or 技术 may
        stand between the subject and 是."""
        out = []
        if "是" not in text:
            return out
        conf = self.p.rconf("copula")
        techs = [i for i, m in enumerate(ms) if m.type == "Technology"]
        for t in _COPULA.finditer(text):
            before = [i for i in techs if ms[i].end <= t.start()]
            after = [i for i in techs if ms[i].start >= t.end()]
            if not before or not after:
                continue
            a, b = before[-1], after[0]
            if not _SUBJECT_GAP.fullmatch(_PARENS.sub("", text[ms[a].end:t.start()])):
                continue
            gap = text[t.end():ms[b].start]
            if text[ms[a].start - 1:ms[a].start] == "的" and not gap.strip() and _CLAUSE_END.match(text, ms[b].end):
                out.append(RelCandidate(b, "broader", a, "rule:copula", conf))  # …的 B 是 A。
            elif len(gap) <= 24 and not _CLAUSE.search(gap) and _CLASS_END.match(text, ms[b].end):
                out.append(RelCandidate(a, "broader", b, "rule:copula", conf))  # A 是 … B。
        return out

    # --- regulates: POLICY … 监管/规范 … TECH -------------------------------------------
    def _regulates(self, text: str, ms: Sequence[Candidate]) -> list[RelCandidate]:
        out = []
        policies = [i for i, m in enumerate(ms) if m.type == "Policy"]
        if not policies:
            return out
        conf = self.p.rconf("regulates")
        for t in self.p.trigger_re("regulates").finditer(text):
            before = [i for i in policies if ms[i].end <= t.start()]
            _, clause_end = _clause_bounds(text, t.end())
            after = [i for i, m in enumerate(ms) if m.start >= t.end() and m.start <= clause_end + 20
                     and m.type in ("Technology", "Organization")]
            if before and after:
                out.append(RelCandidate(before[-1], "regulates", after[0], "rule:regulates", conf))
        return out


def field_list_heading(patterns: Patterns) -> re.Pattern[str]:
    """The start of a participants list: 主要参与者：, 代表企业：…"""
    return _heading_re(tuple(patterns.relations["field_list"]["headings"]))


@lru_cache(maxsize=8)
def _heading_re(headings: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\s*(?:" + "|".join(map(re.escape, headings)) + r")\s*[:：]")


def field_list(text: str, mentions: Sequence[Candidate], patterns: Patterns) -> list[int]:
    """Indices of the organisations listed after a heading like 主要参与者：A、B、C."""
    m = field_list_heading(patterns).match(text)
    if not m:
        return []
    return [i for i, x in enumerate(mentions) if x.start >= m.end() and x.type in ("Organization", "Product")]


def _nearest_event(ms: Sequence[Candidate], events: Sequence[int], i: int) -> int:
    """With several events in a sentence a name belongs to the last one named before it
    ("物理学奖授予了 A 和 B，化学奖授予了 C"), or to the first if none comes before."""
    before = [e for e in events if ms[e].end <= ms[i].start]
    return before[-1] if before else events[0]


def _dedupe(rels: Iterable[RelCandidate]) -> list[RelCandidate]:
    best: dict[tuple[int, str, int], RelCandidate] = {}
    for r in rels:
        key = (r.subject, r.predicate, r.object)
        if r.predicate == "partnerOf":
            key = (min(r.subject, r.object), r.predicate, max(r.subject, r.object))
        if key not in best or r.confidence > best[key].confidence:
            best[key] = r
    return sorted(best.values(), key=lambda r: (r.subject, r.predicate, r.object))
