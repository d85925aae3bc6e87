"""Entity rule families over one sentence: each returns candidate spans with a type.

Rules look at characters (for names in Latin script, brackets and quotes) and at jieba
tokens (to find where a Chinese name begins, since Chinese has no spaces). Every
candidate names its rule so that a reviewer can see why it was proposed.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Callable, Iterable, Sequence

import ahocorasick

from kg.nlp.lexicon import LexEntry, Lexicon
from kg.nlp.patterns import Patterns, _alternation
from kg.nlp.english import is_english_word
from kg.normalize import fold_text, is_cjk, is_latin_word_char, normalize_name


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    type: str
    method: str
    confidence: float
    canonical: str = ""


@dataclass(frozen=True)
class Sent:
    """What the rules see of a sentence: its text, folded text and token spans."""

    text: str
    folded: str
    tokens: tuple[tuple[int, int], ...]
    section: str = ""

    def token_at_end(self, pos: int) -> int | None:
        """Index of the token ending exactly at `pos`."""
        ends = self.__dict__.get("_ends")
        if ends is None:
            ends = {e: i for i, (_, e) in enumerate(self.tokens)}
            object.__setattr__(self, "_ends", ends)
        return ends.get(pos)

    def on_token_boundaries(self, start: int, end: int) -> bool:
        starts = self.__dict__.get("_starts")
        if starts is None:
            starts = {s for s, _ in self.tokens}
            object.__setattr__(self, "_starts", starts)
        return start in starts and self.token_at_end(end) is not None

    def token_text(self, i: int) -> str:
        s, e = self.tokens[i]
        return self.text[s:e]


# what jieba glues to a short name as one word: 美国公司, 小米公司, 日本市场
_KIND_WORDS = frozenset({"公司", "企业", "厂商", "政府", "市场", "集团"})


class Gazetteer:
    """Aho-Corasick over folded text: linear-time lookup of every lexicon surface form.

    Character-level matching is used instead of token-level phrase matching because
    jieba segments the same name differently in different contexts.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.automaton = ahocorasick.Automaton()
        count = 0
        by_key: dict[str, list[LexEntry]] = {}
        for entry in lexicon.entries:
            for surface in entry.surfaces:
                key = fold_text(surface.strip())
                if len(key) < 2 and not (key.isascii() and key.isalpha()):
                    continue
                by_key.setdefault(key, []).append(entry)
                count += 1
        for key, entries in by_key.items():
            self.automaton.add_word(key, (len(key), _readings(key, entries)))
        self.size = count
        if count:
            self.automaton.make_automaton()

    def find(self, sent: Sent, conf: float) -> list[Candidate]:
        if not self.size:
            return []
        out = []
        text = sent.folded
        for end_index, (length, readings) in self.automaton.iter(text):
            start, end = end_index - length + 1, end_index + 1
            if not _word_bounded(text, start, end):
                continue
            if length <= 2 and is_cjk(text[start]) and not sent.on_token_boundaries(start, end) and not (
                    sent.on_token_boundaries(start, end + 2) and text[end:end + 2] in _KIND_WORDS):
                continue  # 新浪 inside 新浪潮: a short Chinese name must be a whole word (美国公司 is two)
            for type_, canonical in readings:
                out.append(Candidate(start, end, type_, "lexicon", conf, canonical))
        return out


def _readings(key: str, entries: Sequence[LexEntry]) -> tuple[tuple[str, str], ...]:
    """(type, canonical) of the entries a surface can name: one entry per type, the one named
    exactly so, else the first listed. It depends on the surface only, so the automaton keeps
    it instead of sorting and folding the entries at every match."""
    readings = []
    seen_types = set()
    for entry in sorted(entries, key=lambda e: fold_text(e.canonical) != key):
        if entry.type not in seen_types:
            seen_types.add(entry.type)
            readings.append((entry.type, entry.canonical))
    return tuple(readings)


def _word_bounded(text: str, start: int, end: int) -> bool:
    """A Latin-script match must not be glued to other Latin letters or digits."""
    if is_latin_word_char(text[start]) and start > 0 and is_latin_word_char(text[start - 1]):
        return False
    if is_latin_word_char(text[end - 1]) and end < len(text) and is_latin_word_char(text[end]):
        return False
    if text[end - 1].isalpha() and text[end - 1].isascii() and end < len(text) and text[end] in "-":
        if end + 1 < len(text) and text[end + 1].isalnum() and text[end + 1].isascii():
            return False
    return True


# A Latin-script name: capitalised words, camel case or letter-digit codes, optionally
# followed by more capitalised words, numbers and version words (Gemini 1.5 Pro).
_LATIN_WORD = r"(?:[A-Z][A-Za-z0-9]*|[a-z]{1,3}[A-Z][A-Za-z0-9]*|[a-z]+:[A-Z][a-z]+|\d+[A-Za-z][A-Za-z0-9]*)(?:[-.+'&][A-Za-z0-9]+)*"
_LATIN_TAIL = r"(?:[ \u00a0](?:[A-Z0-9][A-Za-z0-9]*(?:[-.+][A-Za-z0-9]+)*|of|and|for|de|mini|[a-z]?[A-Z][a-z]+))"
LATIN_NAME = re.compile(rf"(?<![A-Za-z0-9_]){_LATIN_WORD}{_LATIN_TAIL}*(?![A-Za-z0-9_])")
_MEASURE = re.compile(r"^\d+(?:\.\d+)?\s*(?:nm|mm|cm|m|km|Km|KM|kg|g|t|GWh|MWh|kWh|TWh|Wh|W|kW|MW|GW|GB|TB|MB|PB|Hz|GHz|MHz|V|mAh|X\d+|D|K|G|nit|fps|Gbps|Mbps|bit|qubit)s?$")
# digits first (1990s, 720p, 15dB), file names and URLs, hex ids: never names by themselves
_NOT_A_NAME = re.compile(r"^\d|[a-z]\.[a-z]|/|\.html?$|_|^[0-9a-f]{8,}$")
_LEADING_FUNCTION_WORDS = frozenset({"A", "An", "The", "Of", "For", "And", "In", "On", "To", "With", "From"})
# an unexplained acronym (QoS, CAGR, UGC) or an ordinary English word (Accuracy, Speech) is a
# term more often than a product: kept only when an alias or a list ties it to something
_ACRONYM = re.compile(r"[A-Z][A-Za-z]?[A-Z]{1,4}s?")
_ENGLISH_WORD = re.compile(r"[A-Z][a-z]{3,}(?:tion|sion|ity|ness|ment|ing|ed|ate|ance|ence|ive|al|ous|ics|ure|ent|ant|ism|ology|ship|age|ery|ise|ize|ful|less|able|ible)")
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
# The full-width forms of the characters LATIN_NAME names (letters, digits, _ - . + ' & :). Other
# full-width characters (，（）) and their half-width forms are alike to it (neither is in any
# of its classes), so without these translating cannot change a match and is skipped.
_FULL_WIDTH = re.compile("[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A\uFF3F\uFF0D\uFF0E\uFF0B\uFF07\uFF06\uFF1A]")
# every LATIN_NAME match has an ASCII letter or a digit, before or after _HALF_WIDTH
_LATIN_OR_DIGIT = re.compile(r"[A-Za-z\d\uFF21-\uFF3A\uFF41-\uFF5A]")
_INITIAL_TAIL = re.compile(r"(?:\. ?[A-Z](?=\.))*\. ?[A-Z][a-z]+")
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?%?")
_CAMEL_PRODUCT = re.compile(r"^[a-z]{1,4}[A-Z][A-Za-z0-9]*$")  # iPhone, iPadOS, macOS, eVTOL
_LAUNCHED = re.compile(r"(?:发布|推出|上线|开源|亮相|搭载|采用|基于|首发|升级)(?:了|的)?\s*[“\"]?$")
_TITLE = re.compile(r"《([^《》\n]{1,60})》")
_QUOTED = re.compile(r"[“\"「『]([^”\"」』\n]{1,30})[”\"」』]")
_PAREN = re.compile(r"[（(]([^（）()\n]{1,40})[）)]")
_NAME_DOTS = "·•・"
_DOT_NAME = re.compile(rf"[\u4e00-\u9fff]{{1,8}}(?:[{_NAME_DOTS}][\u4e00-\u9fff]{{1,8}}){{1,3}}")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def _left_extend(sent: Sent, pos: int, stop: Callable[[str], bool], *, max_tokens: int, max_chars: int) -> int:
    """Walk tokens leftwards from `pos` while they may belong to a name; return the start."""
    i = sent.token_at_end(pos)
    start = pos
    taken = 0
    while i is not None and i >= 0 and taken < max_tokens:
        s, e = sent.tokens[i]
        token = sent.text[s:e]
        if e != start or stop(token) or pos - s > max_chars:
            break
        start = s
        taken += 1
        i -= 1
    return start


def _name_token(patterns: Patterns, extra: str = "") -> Callable[[str], bool]:
    boundary = patterns.boundary
    allowed = "·-&." + extra

    def stop(token: str) -> bool:
        t = token.strip()
        if not t or t in boundary:
            return True
        if any(not (is_cjk(c) or c.isalnum() or c in allowed) for c in t):
            return True
        return False

    return stop


def _given_name_first(words: list[str], patterns: Patterns) -> bool:
    """Jacques Vidal, Jennifer A: a known given name, then one or two capitalised words."""
    if not 2 <= len(words) <= 4 or words[0] not in patterns.words("latin_given_names"):
        return False
    return all(re.fullmatch(r"[A-Z](?:[a-z]+|\.)?", w) for w in words[1:]) and words[-1][-1] != "."


def latin_names(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """Latin-script names inside Chinese text, typed by what surrounds them."""
    out: list[Candidate] = []
    if not _LATIN_OR_DIGIT.search(sent.text):
        return out  # most sentences are all Chinese: no name can start (a plain search is cheap)
    stop = patterns.words("latin_stopwords")
    product_tokens = patterns.words("product_name_tokens")
    org_suffixes = patterns.words("latin_org_suffix")
    cjk_org = patterns.org_suffix_re
    # full-width Latin (Ｚｅｎｔｒｉｘ) is matched as half-width; one character for one, so spans hold
    text = sent.text.translate(_HALF_WIDTH) if _FULL_WIDTH.search(sent.text) else sent.text
    for m in LATIN_NAME.finditer(text):
        name = m.group(0).rstrip(".'")
        start, end = m.start(), m.start() + len(name)
        initial = _INITIAL_TAIL.match(sent.text, start + len(name))
        if initial and re.search(r" [A-Z]$", name):
            name += initial.group(0)  # Jennifer A. Doudna, Francis H. C. Crick
        words = name.split()
        numbers = [i for i, w in enumerate(words) if _PLAIN_NUMBER.fullmatch(w)]
        if len(numbers) >= 2 and numbers[0] > 0:
            words = words[:numbers[0]]  # a table row: Grand View 20.4 63.2 17.5
        while words and words[-1] in ("of", "and", "for", "de"):
            words.pop()
        if not words:
            continue
        name = " ".join(words)
        end = start + len(name)
        if name in stop or all(w in stop for w in words):
            continue
        if lexicon.lookup(name):
            continue  # the gazetteer already proposes it with its canonical name
        if len(name) <= 2 or _MEASURE.match(name) or _NOT_A_NAME.search(name) or \
                words[0] in _LEADING_FUNCTION_WORDS and len(words) > 1:
            continue
        after = sent.text[end:end + 4].lstrip()
        before = sent.text[max(0, start - 8):start].rstrip()
        has_digit = any(c.isdigit() for c in name)
        in_parens = bool(re.search(r"[\u4e00-\u9fff][（(]\s*$", sent.text[max(0, start - 3):start]))
        if in_parens and not cjk_org.match(after):
            # an abbreviation or translation of the Chinese term before it: 去中心化金融（DeFi）.
            # Kept only if alias resolution ties it to an entity.
            out.append(Candidate(start, end, "Organization", "rule:latin-paren", 0.45))
        elif cjk_org.match(after) or words[-1] in org_suffixes and len(words) > 1:
            out.append(Candidate(start, end, "Organization", "rule:latin-org", patterns.conf("latin_org")))
        elif _maker_led(words, lexicon, org_suffixes) and not _ORG_KIND_BEFORE.search(before):
            # NVIDIA DGX Quantum, Samsung Galaxy S24: a known maker's name leading more name
            # words is that maker's product (IBM Research, with an organisation word, is not)
            out.append(Candidate(start, end, "Product", "rule:maker-product", patterns.conf("latin_product")))
        elif before.endswith(patterns.product_type_words) or patterns.product_type_prefix_re.match(after) or any(
                w in product_tokens for w in words[1:]) or (
                has_digit and not name.isdigit()) or _CAMEL_PRODUCT.match(name) or _LAUNCHED.search(before) or \
                LAUNCH_NOUN.match(sent.text, end):  # Frontier 的推出: what is launched is a product
            out.append(Candidate(start, end, "Product", "rule:latin-product", patterns.conf("latin_product")))
        elif sent.section.startswith(tuple(patterns.relations["field_list"]["headings"])) or \
                re.match(r"(?:主要参与者|参与者|主要玩家)", sent.text):
            out.append(Candidate(start, end, "Organization", "rule:latin-org", patterns.conf("latin_org")))
        elif _given_name_first(words, patterns):
            out.append(Candidate(start, end, "Person", "rule:person-latin", patterns.conf("person_latin")))
        elif re.match(r"\s*(?:的\s*)?(?:" + _alternation_words(patterns.entities.get("latin_agent_after", ["公司"])) + ")",
                      sent.text[end:end + 8]) and not has_digit and len(words) <= 2:
            out.append(Candidate(start, end, "Organization", "rule:latin-agent", 0.6))
        else:
            # unexplained Latin names in Chinese tech text are more often products than
            # companies (well-known companies are in the lexicon); lists and aliases refine it.
            # Plain English words (What, Interface, Graphical User) are vocabulary, not names.
            vague = _ACRONYM.fullmatch(name) or (len(words) == 1 and _ENGLISH_WORD.fullmatch(name)) or \
                all(is_english_word(w) for w in words)
            # a known name inside a longer one (Grayscale Bitcoin Trust) is part of a product's
            # name: the whole must outrank the known word
            embeds = not vague and len(words) >= 3 and any(lexicon.lookup(w) for w in words[1:-1])
            out.append(Candidate(start, end, "Product", "rule:latin-name",
                                 0.45 if vague else 0.6 if embeds else patterns.conf("latin_unknown")))
    return out


_ORG_KIND_BEFORE = re.compile(r"(?:联盟|协会|组织|机构|公司|企业|实验室|团队|社区)\s*$")


def _maker_led(words: list[str], lexicon: Lexicon, org_suffixes) -> bool:
    """The name's first word(s) are a known organisation and the rest are not an organisation word."""
    for k in range(min(len(words) - 1, 2), 0, -1):
        if any(e.type == "Organization" for e in lexicon.lookup(" ".join(words[:k]))):
            tail = words[k:]
            return not any(w in org_suffixes or w in _LEADING_FUNCTION_WORDS for w in tail) and \
                tail[-1] not in _GATHERING_WORDS
    return False


# "Lilium Battery Webinar", "Google I/O Keynote": a maker's gathering, not its product
_GATHERING_WORDS = frozenset({"Webinar", "Conference", "Summit", "Forum", "Day", "Days", "Event", "Expo", "Meetup",
                              "Keynote", "Festival", "Week", "Show", "Awards"})


# "Frontier 的推出", "GPT-4 的发布": a launch named as a noun right after what is launched
LAUNCH_NOUN = re.compile(r"\s*的\s*(推出|发布|问世|上线|亮相)")


def titles(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """Names in 《》: laws and guidelines are Policy, journals are media, games are Product."""
    out = []
    policy = patterns.words("title_policy_words")
    media = patterns.words("title_media_words")
    product_ctx = patterns.words("title_product_context")
    for m in _TITLE.finditer(sent.text):
        inner = m.group(1).strip()
        s, e = m.start(1), m.end(1)
        if lexicon.lookup(inner):
            continue
        before = sent.text[max(0, m.start() - 6):m.start()]
        after = sent.text[m.end():m.end() + 6]
        if any(inner.endswith(w) for w in policy) or any(w in inner for w in ("法案", "条例", "办法", "规划", "指南")):
            out.append(Candidate(s, e, "Policy", "rule:title-policy", patterns.conf("title_policy")))
        elif any(inner.endswith(w) for w in media):
            out.append(Candidate(s, e, "Organization", "rule:title-media", patterns.conf("title_media")))
        elif any(w in before or w in after for w in product_ctx):
            out.append(Candidate(s, e, "Product", "rule:title-product", patterns.conf("title_product")))
    return out


def quoted_names(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """Names in quotes right after a type word: 人形机器人“擎天柱”, “星际之门”计划."""
    out = []
    for m in _QUOTED.finditer(sent.text):
        inner = m.group(1).strip()
        s, e = m.start(1), m.end(1)
        if not inner or lexicon.lookup(inner) or len(inner) > 20:
            continue
        before = sent.text[max(0, m.start() - 10):m.start()]
        before = re.sub(r"(?:原型|版本|版|款|型号|名为|代号|称为|叫做)$", "", before)
        after = sent.text[m.end():m.end() + 6]
        if before.endswith(patterns.product_type_words):
            out.append(Candidate(s, e, "Product", "rule:quoted-name", patterns.conf("quoted_name")))
        elif patterns.policy_type_re.match(after) and re.search(r"[\u4e00-\u9fff]", inner):
            out.append(Candidate(s, e, "Policy", "rule:quoted-programme", patterns.conf("quoted_name") - 0.2))
    return out


def org_suffix_names(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """Chinese organisation names ending in 公司, 实验室, 大学 …, extended left over tokens."""
    out = []
    generic = patterns.words("org_generic_names")
    generic_suffix = patterns.words("org_suffix_generic")
    stop = _name_token(patterns)
    for m in patterns.org_suffix_re.finditer(sent.text):
        suffix = m.group(0)
        name_end = m.start()
        # the suffix must end a token (公司 in 公司的, not 司 inside another word)
        if sent.token_at_end(m.end()) is None and not (m.end() == len(sent.text)):
            continue
        if name_end == 0:
            continue
        # a name in Latin script right before the suffix: Neuralink 公司
        j = name_end
        while j > 0 and sent.text[j - 1] == " ":
            j -= 1
        if j > 0 and sent.text[j - 1].isascii() and (sent.text[j - 1].isalnum() or sent.text[j - 1] in "-&."):
            continue  # a Latin name before the suffix: latin_names types it Organization
        anchor = name_end
        whole = sent.token_at_end(m.end())
        if whole is not None and sent.tokens[whole][0] < name_end and (len(suffix) < 2 or name_end - sent.tokens[whole][0] < 2):
            continue  # 总部, 内部, 格局: the suffix is the end of an ordinary word
        if whole is not None and sent.tokens[whole][0] < name_end:
            anchor = sent.tokens[whole][0]  # jieba kept the name and its suffix as one word: 南开大学
            if stop(sent.text[anchor:name_end]):
                continue
        # a name jieba kept whole is taken as it is; otherwise extend over the words before the suffix
        start = anchor if anchor < name_end else _left_extend(sent, anchor, stop, max_tokens=4, max_chars=12)
        if suffix in generic_suffix:
            start = _skip_common(sent, start, name_end)
        # a known field before the suffix is not cut as a verb: 于利希超级计算中心 (计算 tags as v)
        start = _after_function_words(sent.text, start, _field_start(sent.text, start, name_end, lexicon))
        name = sent.text[start:name_end]
        if len(name) < 2 if suffix in generic_suffix else len(name) < 1:
            continue
        for lead in patterns.entities.get("org_leading_descriptors", ()):
            if sent.text.startswith(lead, start) and name_end - start - len(lead) >= 2:
                start += len(lead)  # 制造商诺和诺德公司: the kind of company is not part of the name
                break
        if suffix == "分校" and sent.text[:start].endswith(("大学", "学院")):
            # 加利福尼亚大学伯克利分校: a branch is named with its university
            start = _left_extend(sent, start, stop, max_tokens=3, max_chars=10)
        if suffix in generic_suffix and _ends_with_field(sent.text[start:name_end], patterns):
            continue  # 地热公司, 储能公司: a kind of company named by its field, not a name
        if suffix == "科技" and _continues_as_noun(sent, m.end(), patterns):
            continue  # 新一轮科技革命, 世界科技的最前沿: 科技 heads a noun phrase, not a company name
        if suffix not in generic_suffix:
            start = _place_led_coordination(sent, start, lexicon)
            start = _latin_led(sent, start, name_end)
            name = sent.text[start:name_end]
        if _generic_name(name, generic, lexicon, institutional=suffix not in generic_suffix):
            continue
        full = sent.text[start:m.end()]
        if lexicon.lookup(full):
            continue
        out.append(Candidate(start, m.end(), "Organization", "rule:org-suffix", patterns.conf("org_suffix")))
    return out


def _field_start(text: str, start: int, end: int, lexicon: Lexicon) -> int:
    """Where a technology of the lexicon that ends text[start:end] begins (else `end`)."""
    for k in range(start, end - 1):
        if any(e.type == "Technology" for e in lexicon.lookup(text[k:end])):
            return k
    return end


def _ends_with_field(name: str, patterns: Patterns) -> bool:
    """地热, 老牌芯片: a field word alone, or after an ordinary word; 云知声智能 keeps its rare name."""
    if not name or not all(is_cjk(c) for c in name):
        return False
    for m in patterns.tech_head_re.finditer(name):
        if m.end() == len(name):
            lead = name[:m.start()]
            return not lead or _word_freq(lead) >= COMMON_WORD_FREQ
    return False


def _continues_as_noun(sent: Sent, pos: int, patterns: Patterns) -> bool:
    """After 科技: a phrase head (革命, 的最前沿) continues a noun phrase, so it was no company name."""
    rest = sent.text[pos:pos + 4]
    return any(rest.startswith(w) for w in patterns.entities.get("keji_phrase_heads", ()))


def _place_led_coordination(sent: Sent, start: int, lexicon: Lexicon) -> int:
    """美国食品和药物管理局, 韩国科学和信息通信技术部: an official body's name may contain 和
    when a place leads it; the left extension stopped at 和, so look across it once."""
    text = sent.text
    if start < 2 or text[start - 1] != "和":
        return start
    for size in range(2, 9):
        begin = start - 1 - size
        if begin < 0:
            break
        head = text[begin:start - 1]
        if not all(is_cjk(c) for c in head):
            break
        for cut in range(2, min(6, len(head)) + 1):
            if any(e.type == "Place" for e in lexicon.lookup(head[:cut])) and \
                    (begin == 0 or not is_cjk(text[begin - 1]) or sent.token_at_end(begin) is not None):
                return begin
    return start


def _latin_led(sent: Sent, start: int, name_end: int) -> int:
    """RISC-V国际协会: a Latin name, then Chinese words, then the suffix, is one name."""
    text = sent.text
    if start == 0 or start >= name_end or not text[start - 1].isascii():
        return start
    m = re.search(r"[A-Za-z][A-Za-z0-9.&+-]*$", text[:start])
    if not m or len(m.group(0)) < 2:
        return start
    return m.start()


COMMON_WORD_FREQ = 3000


def _word_freq(token: str) -> int:
    import jieba

    return jieba.dt.FREQ.get(token) or 0


def _skip_common(sent: Sent, start: int, end: int) -> int:
    """Drop leading tokens that are common words: names are rare, descriptions are not.

    Uses jieba's corpus frequencies, so it carries to any text: 煤油灯科技 keeps 煤油灯,
    作为当今世界科技 loses every token.
    """
    for s, e in sent.tokens:
        if s < start or e > end:
            continue
        if _word_freq(sent.text[s:e]) >= COMMON_WORD_FREQ:
            start = e
    return start


_FUNCTION_TAGS = ("v", "p", "r", "m", "d", "c", "u", "q", "f", "t", "y", "e", "o", "ad", "vd", "z")


def _after_function_words(text: str, start: int, end: int) -> int:
    """A name does not contain verbs, numerals or pronouns: start after the last one (一个实验室 → '')."""
    if end <= start or not any(is_cjk(c) for c in text[start:end]):
        return start
    pos, cut = start, start
    for w in _tag(text[start:end]):
        pos += len(w.word)
        if w.flag.startswith(_FUNCTION_TAGS) and w.flag not in ("vn",) and not w.flag.startswith("nr"):
            cut = pos
    return cut


# between two listed names: a separator, maybe after a short kind word (Genmoji表情包和Image Playground)
_LIST_GAP = re.compile(r"\s*(?:[\u4e00-\u9fff]{1,3}(?=[、和与及]))?(?:[、，,和与及]|以及)\s*")


def propagate_types(text: str, chosen: list[Candidate]) -> list[Candidate]:
    """A guessed type yields to the type of the names it is listed with (GPT、Bard、LLaMa)."""
    out = list(chosen)
    weak = ("rule:latin-name", "rule:tech-head")
    for i, c in enumerate(out):
        if c.method not in weak:
            continue
        votes: dict[str, float] = {}
        for j in (i - 1, i + 1):
            k = j
            while 0 <= k < len(out):
                a, b = (out[k], out[i]) if k < i else (out[i], out[k])
                lo, hi = (k, i) if k < i else (i, k)
                gap_ok = all(_LIST_GAP.fullmatch(text[out[x].end:out[x + 1].start])
                             for x in range(lo, hi))
                if not gap_ok:
                    break
                if out[k].method not in weak and out[k].confidence >= 0.75:
                    votes[out[k].type] = votes.get(out[k].type, 0.0) + out[k].confidence
                k += 1 if j > i else -1
        if not votes:
            continue
        best = max(sorted(votes), key=lambda t: votes[t])
        if c.method == "rule:tech-head":
            if best == "Technology":  # 镍镉电池、钴酸锂电池 listed with a known technology
                out[i] = Candidate(c.start, c.end, best, "rule:tech-list", 0.7, c.canonical)
        elif best != c.type or c.confidence < 0.7:
            out[i] = Candidate(c.start, c.end, best, "rule:latin-list", 0.7, c.canonical)
    return out


def _generic_name(name: str, generic: frozenset[str], lexicon: Lexicon, *, institutional: bool) -> bool:
    if name in generic:
        return True
    if any(word in name for word in ("创业", "初创", "服务类", "咨询类", "科技巨头")):
        return True
    entries = lexicon.lookup(name)
    if any(e.type == "Technology" for e in entries):
        return True
    if not institutional and any(e.type == "Place" for e in entries):
        return True
    rest = name
    for word in sorted(generic, key=len, reverse=True):
        rest = rest.replace(word, "")
    return not rest or rest.isdigit()


def _dot_parts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split 德米斯·哈萨比斯和约翰·江珀 at the conjunction into two names."""
    parts = []
    last = start
    for c in re.finditer(r"和|与|及|以及|、", text[start:end]):
        left = text[last:start + c.start()]
        right_start = start + c.end()
        if "·" in left and "·" in text[right_start:end]:
            parts.append((last, start + c.start()))
            last = right_start
    parts.append((last, end))
    return parts


def _trim_person_end(text: str, start: int, end: int, patterns: Patterns) -> int:
    """Cut a transliterated name before a following verb or particle (达里奥·吉尔表示)."""
    last_dot = text.rfind("·", start, end)
    cut_words = sorted(patterns.words("person_trigger_after") | patterns.boundary, key=len, reverse=True)
    best = end
    for pos in range(last_dot + 2, end):
        if any(text.startswith(w, pos) for w in cut_words if len(w) >= 1 and w not in ("马",)):
            best = pos
            break
    return min(best, last_dot + 1 + 6)


def _dot_person(sent: Sent, start: int, end: int, patterns: Patterns, lexicon: Lexicon) -> Candidate | None:
    first = sent.text[start:end].split("·", 1)[0]
    role = None
    for r in patterns.role_re.finditer(first):
        role = r
    if role is not None:
        start = start + role.end()
    else:
        origin = start
        start = max(origin, _left_extend(sent, start + len(first), _name_token(patterns), max_tokens=3, max_chars=5))
    end = _trim_person_end(sent.text, start, end, patterns)
    name = sent.text[start:end]
    if end - start < 3 or "·" not in name or name[0] == "·" or name[-1] == "·" or lexicon.lookup(name):
        return None
    return Candidate(start, end, "Person", "rule:person-dot", patterns.conf("person_dot"))


def persons(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """Person names: transliterations with ·, names after role words, Latin names after roles."""
    out = []
    # _DOT_NAME backtracks over every run of Chinese characters, and few sentences have a name dot
    dotted = _DOT_NAME.finditer(sent.text) if any(d in sent.text for d in _NAME_DOTS) else ()
    for whole in dotted:
        for start, end in _dot_parts(sent.text, whole.start(), whole.end()):
            candidate = _dot_person(sent, start, end, patterns, lexicon)
            if candidate is not None:
                out.append(candidate)
    after_words = patterns.words("person_trigger_after")
    for r in patterns.role_re.finditer(sent.text):
        pos = r.end()
        while pos < len(sent.text) and sent.text[pos] == " ":
            pos += 1
        latin = re.match(r"[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}", sent.text[pos:])
        if latin:
            out.append(Candidate(pos, pos + latin.end(), "Person", "rule:person-latin", patterns.conf("person_latin")))
            continue
        for size in (3, 2):
            name = sent.text[pos:pos + size]
            if len(name) != size or not all(is_cjk(c) for c in name) or name[0] not in patterns.surnames:
                continue
            tail = sent.text[pos + size:pos + size + 2]
            if not tail or tail[0] in "，。、；：,;:（(" or any(tail.startswith(w) for w in after_words):
                if lexicon.lookup(name) and not any(e.type == "Person" for e in lexicon.lookup(name)):
                    break
                out.append(Candidate(pos, pos + size, "Person", "rule:person-role", patterns.conf("person_role")))
                break
    return out


_NOUNISH = ("n", "nz", "vn", "eng", "b", "j", "l", "nt", "nr", "ns", "an", "ng", "x")


@lru_cache(maxsize=16384)
def _tag(phrase: str) -> tuple:
    import jieba.posseg

    return tuple(jieba.posseg.cut(phrase))


def _pos_trim(text: str, start: int, end: int) -> int:
    """Start a technology phrase after its last word that cannot modify a noun.

    jieba's tagger is slow on whole texts, but on a few short candidate phrases it costs
    little and removes verbs, particles and adjectives glued to the phrase
    (随着量子计算, 标志着人形机器人, 谷歌最新量子芯片).
    """
    words = _tag(text[start:end])
    pos = start
    cut = start
    for w in words[:-1]:
        pos += len(w.word)
        if not w.flag.startswith(_NOUNISH) or w.flag == "nr":
            cut = pos
    return cut


def technologies(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """Technology noun phrases ending in a technology head (…计算, …电池, …接口)."""
    out = []
    modifiers = patterns.words("tech_generic_modifiers")
    generic = patterns.words("tech_generic_phrases")
    heads = patterns.tech_head_re
    for i in _tokens_ending_like(sent, patterns.last_char_re("tech_heads")):
        s, e = sent.tokens[i]
        token = sent.text[s:e]
        if not heads.fullmatch(token) and not (len(token) > 2 and heads.search(token) and
                                                heads.search(token).end() == len(token)):
            continue
        start = s
        j = i - 1
        taken = 0
        while j >= 0 and taken < 3:
            ts, te = sent.tokens[j]
            prev = sent.text[ts:te]
            if te != start or prev in modifiers or not all(is_cjk(c) for c in prev) or prev in patterns.boundary:
                break
            start = ts
            taken += 1
            j -= 1
        after_list = _after_listed(sent.text, start)
        if not after_list:
            start = _pos_trim(sent.text, start, e)  # after 等 the class noun starts there (二次电池)
        phrase = sent.text[start:e]
        if after_list and re.match(r"[各多几诸每某该其这那]|[一二三四五六七八九十两几]大", phrase):
            continue  # 等各类材料, 等四大材料: a quantity of things, not a class
        if phrase in generic or len(phrase) < 3 or len(phrase) > 10:
            continue
        if any(m in phrase for m in ("的", "了", "和", "与", "等", "是", "在", "这", "那", "们")):
            continue
        if lexicon.lookup(phrase):
            continue
        # the next token must not continue a longer noun (量子计算机 is a product class)
        nxt = sent.text[e:e + 1]
        if nxt and is_cjk(nxt) and sent.tokens and i + 1 < len(sent.tokens):
            ns, ne = sent.tokens[i + 1]
            if sent.text[ns:ne] in ("机", "器", "者", "家", "师", "公司", "企业", "领域"):
                continue
        if after_list or _CLASS_BEFORE.match(sent.text, e):
            # the class of a list: 铅酸电池、镍镉电池等二次电池; 新能源电池技术主要包括 A、B
            out.append(Candidate(start, e, "Technology", "rule:tech-class", patterns.conf("tech_class")))
        elif _extends_known(sent.text, start, e, lexicon):
            # 新能源 + 电池: a known field narrowed by a head word names the narrower thing,
            # and the longer span should win over the known one inside it
            out.append(Candidate(start, e, "Technology", "rule:tech-narrowed", patterns.conf("tech_class")))
        else:
            out.append(Candidate(start, e, "Technology", "rule:tech-head", patterns.conf("tech_suffix")))
    return out


def _extends_known(text: str, start: int, end: int, lexicon: Lexicon) -> bool:
    """The phrase is a known technology followed by a head word (新能源电池, 量子通信网络)."""
    return any(any(x.type == "Technology" for x in lexicon.lookup(text[start:k])) for k in range(start + 2, end - 1))


# a class noun before its members: 新能源电池(技术)主要包括 …, 电池，如 …
_CLASS_BEFORE = re.compile(r"(?:技术|产业)?\s*[，,]?\s*(?:主要)?(?:包括|包含|例如|比如|诸如)")


def _after_listed(text: str, start: int) -> bool:
    """Right after "A、B 等": the phrase names the class of the listed items."""
    m = re.search(r"、[^、，。；]{1,12}等(?:多种|各类|新兴|前沿)?\s*$", text[max(0, start - 30):start])
    return m is not None


def events(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """Named happenings: conferences (…大会, WWDC24) and awards (2024 年诺贝尔物理学奖)."""
    out = []
    for m in patterns.award_re.finditer(sent.text):
        out.append(Candidate(m.start(), m.end(), "Event", "rule:award", patterns.conf("event_name")))
    stop = _name_token(patterns, extra="/")  # I/O开发者大会
    for m in patterns.event_head_re.finditer(sent.text):
        if sent.token_at_end(m.end()) is None:
            continue
        start = _left_extend(sent, m.start(), stop, max_tokens=7, max_chars=16)
        if m.start() - start < 2:
            continue
        name = sent.text[start:m.end()]
        if lexicon.lookup(name) or name.startswith(("这", "该", "此", "本", "各")):
            continue
        out.append(Candidate(start, m.end(), "Event", "rule:event-name", patterns.conf("event_name")))
    for m in re.finditer(r"(?<![A-Za-z])(?:WWDC|CES|MWC|GTC|IFA|I/O|Build|re:Invent|Computex|COMPUTEX)\s?(?:20)?\d{2}(?![0-9])",
                         sent.text):
        if not lexicon.lookup(m.group(0)):  # a conference code is surer than a Latin name guess
            out.append(Candidate(m.start(), m.end(), "Event", "rule:event-code", 0.8))
    return out


_ORG_MODEL = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Za-z0-9]{1,15})\s?([\u4e00-\u9fff]{0,4}(?:系统|芯片|处理器|计算机|平台|模型|大模型|手机|汽车|机器人|眼镜|头显))\s?(\d+(?:\.\d+)?|[一二三四五六七八九十]代)(?![\d.])")


def model_names(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """A maker's name, a kind word and a version: IBM 量子系统 2, 小米汽车 SU7 is left to Latin rules."""
    out = []
    for m in _ORG_MODEL.finditer(sent.text):
        if any(e.type == "Organization" for e in lexicon.lookup(m.group(1))):
            out.append(Candidate(m.start(), m.end(), "Product", "rule:maker-model",
                                 patterns.conf("latin_product")))
    return out


def contextual_names(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """Ambiguous short names (苹果) only where the neighbouring words make them a name."""
    out = []
    for spec in patterns.entities.get("contextual_names", ()):
        name = spec["name"]
        entry = lexicon.entry_for(spec["canonical"], spec["type"])
        canonical = entry.canonical if entry else spec["canonical"]
        start = sent.text.find(name)
        while start >= 0:
            end = start + len(name)
            after = sent.text[end:end + 8]
            before = sent.text[max(0, start - 4):start]
            if any(after.startswith(w) for w in spec.get("after", ())) or \
                    any(before.endswith(w) for w in spec.get("before", ())):
                out.append(Candidate(start, end, spec["type"], "rule:contextual-name", 0.8, canonical))
            start = sent.text.find(name, end)
    return out


def places(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """Places by administrative suffix (内华达州), and a place's government as an Organization
    (韩国政府): both general patterns, not names from the corpus."""
    out = []
    suffixes = tuple(patterns.entities.get("place_suffixes", ()))
    not_places = patterns.words("place_not")
    continents = patterns.words("place_continents")
    tokens = sent.tokens
    for i in _tokens_ending_like(sent, patterns.last_char_re("place_suffixes", "place_continents")):
        s, e = tokens[i]
        word = sent.text[s:e]
        start = s
        if word in suffixes and i > 0 and tokens[i - 1][1] == s:
            prev = sent.text[tokens[i - 1][0]:s]
            if 2 <= len(prev) <= 4 and all(is_cjk(c) for c in prev) and not lexicon.lookup(prev + word):
                entries = lexicon.lookup(prev)
                if not entries or any(x.type == "Place" for x in entries):
                    start = tokens[i - 1][0]
        name = sent.text[start:e]
        if word in continents:
            out.append(Candidate(s, e, "Place", "rule:place-suffix", 0.8))
            continue
        if not (3 <= len(name) <= 6 and name.endswith(suffixes) and all(is_cjk(c) for c in name)):
            continue
        if name in not_places or name[:-1] in not_places or lexicon.lookup(name):
            continue
        if any(x.type != "Place" for x in lexicon.lookup(name[:-1])):
            continue  # 英伟达市: not a place
        out.append(Candidate(start, e, "Place", "rule:place-suffix", 0.75))
    government = patterns.entities.get("place_government", ())
    if government:
        for m in _alternation_re(tuple(government)).finditer(sent.text):
            for length in range(min(6, m.start()), 1, -1):
                place = sent.text[m.start() - length:m.start()]
                if any(x.type == "Place" for x in lexicon.lookup(place)) or (
                        place.endswith(tuple(patterns.entities.get("place_suffixes", ()))) and
                        any(x.type == "Place" for x in lexicon.lookup(place[:-1]))):
                    out.append(Candidate(m.start() - length, m.end(), "Organization", "rule:place-government", 0.8))
                    break
    return out


@lru_cache(maxsize=64)
def _alternation_re(words: tuple[str, ...]) -> re.Pattern[str]:
    """`_alternation_words` compiled, for the rules that run it over every sentence."""
    return re.compile(_alternation_words(words))


_END = itemgetter(1)


def _tokens_ending_like(sent: Sent, last: re.Pattern[str] | None) -> Iterable[int]:
    """Indices, in order, of the tokens whose last character `last` matches (`Patterns.last_char_re`
    of some words): only they can end with one of the words or be one. One regex scan instead of
    a Python step per token; every token if `last` is None."""
    tokens = sent.tokens
    if last is None:
        return range(len(tokens))
    out = []
    for m in last.finditer(sent.text):
        # token spans are non-empty and in order, so their ends increase: a bisection finds the
        # token ending here without building token_at_end's map for the whole sentence
        i = bisect_left(tokens, m.end(), key=_END)
        if i < len(tokens) and tokens[i][1] == m.end():
            out.append(i)
    return out


def _alternation_words(words) -> str:
    return _cached_alternation(tuple(words))


@lru_cache(maxsize=64)
def _cached_alternation(words: tuple[str, ...]) -> str:
    """The patterns module's longest-first alternation, kept per word list (rules call it per sentence)."""
    return _alternation(words)


def model_numbers(sent: Sent, patterns: Patterns, lexicon: Lexicon) -> list[Candidate]:
    """A model number right before a kind of product is a product: 4680 电池, 8295 芯片 (not a year)."""
    out = []
    text = sent.text
    kinds = patterns.entities.get("model_number_kinds", ())
    if kinds:
        for m in _model_number_re(tuple(kinds)).finditer(text):
            if 1900 <= int(m.group(1)) <= 2099:
                continue  # a year, not a model
            out.append(Candidate(m.start(1), m.end(1), "Product", "rule:model-number", 0.6))
    return out


@lru_cache(maxsize=16)
def _model_number_re(kinds: tuple[str, ...]) -> re.Pattern[str]:
    """Four digits (not inside a longer number or code) before a kind of product, compiled once."""
    return re.compile(r"(?<![\d.A-Za-z])(\d{4})\s?(?=" + _alternation_words(kinds) + ")")


RULES: tuple[Callable[[Sent, Patterns, Lexicon], list[Candidate]], ...] = (
    latin_names, titles, quoted_names, org_suffix_names, persons, technologies, events, model_names,
    contextual_names, places, model_numbers,
)


def choose(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Keep a non-overlapping set: longer and surer spans first, lexicon breaks ties.

    A lexicon match loses to a longer span only when that span is itself a confident
    name (Gemini 1.5 Pro over Gemini), never to a low-confidence guess.
    """
    ranked = sorted(
        set(candidates),
        key=lambda c: (c.confidence < 0.6, -(c.end - c.start), -c.confidence, c.method != "lexicon", c.start, c.type,
                       c.method, c.canonical),
    )
    taken: list[Candidate] = []
    occupied = []
    for c in ranked:
        if any(c.start < e and s < c.end for s, e in occupied):
            continue
        taken.append(c)
        occupied.append((c.start, c.end))
    return sorted(taken, key=lambda c: (c.start, c.end))


def find_aliases(sent: Sent, chosen: Sequence[Candidate], patterns: Patterns) -> list[tuple[Candidate, Candidate, str]]:
    """Pairs of mentions that name the same thing: A（B）, A（简称 B）, A，又称 B."""
    pairs = []
    by_start = {c.start: c for c in chosen}
    parenthesised, marked = _alias_res(patterns.alias_marker_re.pattern)
    for c in chosen:
        rest = sent.text[c.end:c.end + 12]
        m = parenthesised.match(rest)
        if not m:
            m = marked.match(rest)
            if not m:
                continue
        other = by_start.get(c.end + m.end())
        if other is None:
            continue
        if other.type != c.type and not (other.type in ("Organization", "Product") and c.method != "lexicon"):
            continue
        pairs.append((c, other, "parenthesised alias" if "（" in m.group(0) or "(" in m.group(0) else "alias marker"))
    return pairs


@lru_cache(maxsize=8)
def _alias_res(markers: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """What may stand between a name and its alias, compiled once per marker list (it was
    rebuilt and looked up in re's cache for every mention)."""
    return (re.compile(r"\s*[”\"」]?\s*[（(]\s*(?:(?:" + markers + r")\s*[:：]?\s*)?"),
            re.compile(r"\s*[，,]\s*(?:" + markers + r")\s*[:：]?\s*[“\"]?"))


def normalize_candidate_name(text: str) -> str:
    return normalize_name(text)


def lex_entry(lexicon: Lexicon, canonical: str, type_: str) -> LexEntry | None:
    return lexicon.entry_for(canonical, type_)
