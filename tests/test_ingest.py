"""kg.ingest: decoding, front matter, boilerplate, re-joining, sentences and their offsets."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.errors import IngestError
from kg.ingest import discover, load_document, parse_text, split_sentences
from kg.model import Document, Sentence

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"

SIMPLIFIED = "量子计算：IBM 公司发布了 Heron 量子芯片。\n脑机接口不仅在医疗实现突破，正拓展至更多的互动场景！\n"
TRADITIONAL = "臺積電發佈新晶片。\n量子計算與腦機介面的發展令人期待。\n"


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def assert_offsets_exact(doc: Document, sentence: Sentence) -> None:
    """Every kept character points at the same character of the decoded original."""
    assert len(sentence.offsets) == len(sentence.text)
    for char, offset in zip(sentence.text, sentence.offsets):
        if char == " ":
            # a space inserted when two Latin lines were re-joined sits on the line break
            assert doc.text[offset].isspace(), (sentence.text, offset)
        else:
            assert doc.text[offset] == char, (sentence.text, offset, doc.text[offset])
    assert list(sentence.offsets) == sorted(set(sentence.offsets)), "offsets must strictly increase"
    assert sentence.start == sentence.offsets[0]
    assert sentence.end == sentence.offsets[-1] + 1


# ---------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    ("text", "data", "encodings"),
    [
        pytest.param(SIMPLIFIED, SIMPLIFIED.encode("utf-8"), {"utf-8"}, id="utf-8"),
        pytest.param(SIMPLIFIED, codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), {"utf-8-sig"}, id="utf-8-bom"),
        pytest.param(SIMPLIFIED, SIMPLIFIED.encode("gb18030"), {"gb18030"}, id="gb18030"),
        pytest.param(SIMPLIFIED, SIMPLIFIED.encode("gbk"), {"gb18030", "gbk"}, id="gbk"),
        pytest.param(TRADITIONAL, TRADITIONAL.encode("big5"), {"big5"}, id="big5"),
        pytest.param(SIMPLIFIED, codecs.BOM_UTF16_LE + SIMPLIFIED.encode("utf-16-le"), {"utf-16"}, id="utf-16-le"),
        pytest.param(SIMPLIFIED, codecs.BOM_UTF16_BE + SIMPLIFIED.encode("utf-16-be"), {"utf-16"}, id="utf-16-be"),
    ],
)
def test_every_encoding_decodes_to_the_same_text(tmp_path, text, data, encodings):
    doc = load_document(write(tmp_path, "doc.txt", data))
    assert doc.text == text  # no BOM, no replacement characters
    assert "\ufeff" not in doc.text and "\ufffd" not in doc.text
    assert doc.encoding in encodings
    assert [s.text for s in doc.sentences][0] == text.splitlines()[0]
    for sentence in doc.sentences:
        assert_offsets_exact(doc, sentence)


def test_traditional_big5_is_not_mistaken_for_gb18030(tmp_path):
    doc = load_document(write(tmp_path, "tw.txt", TRADITIONAL.encode("big5")))
    assert doc.sentences[0].text == "臺積電發佈新晶片。"


# ---------------------------------------------------------------- unreadable input


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        # 0x80 and 0xff start no character in UTF-8, GB18030 or Big5
        pytest.param("bad.txt", b"\x80\x80\x80", "cannot decode as UTF-8, GB18030 or Big5", id="undecodable"),
        pytest.param("mixed.txt", "正文。".encode("utf-8") + b"\xff\x80\xff", "invalid byte 0xff at byte 9",
                     id="undecodable-after-text"),
        pytest.param("odd.txt", codecs.BOM_UTF16_LE + b"\x41", "invalid utf-16 byte", id="truncated-utf-16"),
        pytest.param("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "binary file",
                     id="binary"),
        pytest.param("empty.md", b"", "empty file", id="empty"),
        pytest.param("blank.md", b" \n\t\r\n  \n", "empty file", id="whitespace-only"),
        pytest.param("report.pdf", b"%PDF-1.7\n", "unsupported file type .pdf", id="pdf"),
        pytest.param("noext", "正文。".encode("utf-8"), "unsupported file type (none)", id="no-suffix"),
        pytest.param("only-image.md", b"![cover](https://example.com/a.png)\n", "no text found", id="no-text"),
    ],
)
def test_unreadable_files_raise_ingest_error_naming_file_and_reason(tmp_path, name, data, reason):
    path = write(tmp_path, name, data)
    with pytest.raises(IngestError) as info:
        load_document(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert reason in message
    assert info.value.path == str(path)


def test_missing_file_raises_ingest_error(tmp_path):
    path = tmp_path / "missing.txt"
    with pytest.raises(IngestError) as info:
        load_document(path)
    assert str(info.value) == f"{path}: no such file"


def test_directory_without_documents_raises(tmp_path):
    write(tmp_path, "notes.pdf", b"%PDF")
    write(tmp_path, "README.md", "说明。")  # readmes are not documents
    with pytest.raises(IngestError) as info:
        discover([tmp_path])
    assert str(info.value) == f"{tmp_path}: directory contains no .txt, .md or .markdown documents"


def test_missing_path_in_discover(tmp_path):
    with pytest.raises(IngestError) as info:
        discover([tmp_path / "nowhere"])
    assert str(info.value) == f"{tmp_path / 'nowhere'}: no such file or directory"


def test_discover_expands_directories_sorted_and_deduplicated(tmp_path):
    for name in ("b.md", "a.txt", "sub/c.markdown", "skip.pdf", "README.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write(tmp_path, name, "正文。")
    found = discover([tmp_path, tmp_path / "a.txt"])
    assert [p.name for p in found] == ["a.txt", "b.md", "c.markdown"]


# ---------------------------------------------------------------- front matter


def test_front_matter_becomes_metadata_and_is_not_text():
    text = (
        "---\n"
        'title: "技术洞察2024"\n'
        "date: 2025-01-23 21:36:21 +08:00\n"
        "description: 人工智能、量子计算\n"
        'keywords: "科技浪潮"\n'
        "tags: ['科技', 'AI']\n"
        "layout: post\n"
        "---\n"
        "正文第一句。\n"
    )
    doc = parse_text(text, name="f.md")
    assert doc.meta == {
        "title": "技术洞察2024",
        "date": "2025-01-23 21:36:21+08:00",
        "description": "人工智能、量子计算",
        "keywords": "科技浪潮",
        "tags": ["科技", "AI"],
    }
    assert [s.text for s in doc.sentences] == ["正文第一句。"]
    assert doc.sentences[0].start == text.index("正文")


@pytest.mark.parametrize(
    ("front", "line"),
    [
        ("title: ok\ntags: [a, b\n", 4),  # unclosed flow sequence, noticed at the closing ---
        ("title: ok\n  bad: indent\n", 3),
    ],
)
def test_malformed_front_matter_names_the_line(tmp_path, front, line):
    path = write(tmp_path, "f.md", f"---\n{front}---\n正文。\n")
    with pytest.raises(IngestError) as info:
        load_document(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}:")
    assert "invalid YAML front matter" in str(info.value)


def test_front_matter_that_is_not_a_mapping(tmp_path):
    path = write(tmp_path, "f.md", "---\n- a\n- b\n---\n正文。\n")
    with pytest.raises(IngestError, match="front matter is not a mapping") as info:
        load_document(path)
    assert info.value.line == 2


# ---------------------------------------------------------------- boilerplate


def test_boilerplate_lines_are_removed_and_meaningful_repeats_kept():
    watermark = "www.example-reports.com"
    header = "腾讯研究院 数字科技趋势报告"
    players = "主要参与者：谷歌、Meta"
    paragraphs = [
        header, "第一项技术正在改变世界。", players, watermark, "- 12 -",
        header, "![插图](https://img.example.com/a.png)", "第二项技术也很重要。", players, watermark, "第 3 页",
        header, "第三项技术同样值得关注。", players, watermark, "3 / 20",
        header, "Page 4 of 20", "第四项技术将会普及。",
    ]
    doc = parse_text("\n\n".join(paragraphs), name="x.txt")
    texts = [s.text for s in doc.sentences]
    assert texts.count(players) == 3
    assert "第一项技术正在改变世界。" in texts and "第四项技术将会普及。" in texts
    joined = "\n".join(texts)
    for noise in (watermark, header, "12", "第 3 页", "3 / 20", "Page 4", "插图", "img.example.com"):
        assert noise not in joined


def test_a_url_seen_only_twice_is_not_boilerplate():
    doc = parse_text("第一句。\n\nwww.example.com\n\n第二句。\n\nwww.example.com\n", name="x.txt")
    assert [s.text for s in doc.sentences].count("www.example.com") == 2


# ---------------------------------------------------------------- re-joining


WATERMARK = "www.example-reports.com"
PDF_LINES = [
    "量子计算",
    "作为当今世界科技的最前沿领域，量子科技的发展正在带来颠覆性和革命性的科学发现和科技发",
    "明，这无疑将推动人类社会实现跨越式发展。IBM公司宣布推出了第三代量子芯片以及基于该芯片的",
    WATERMARK,
    "量子系统，这被认为是世界上首个模块化的实用量子计算机。主持人表示希望能够更清楚地解释这一",
    "突破，以便大家能够更好地理解可能改变人类文明的重大事件。另一家公司也发布了新的量子处理器，",
    "- 12 -",
    "其性能比上一代提升了很多倍，研究人员认为这将加速量子计算的实用化进程并带来更多的应用场景。",
    WATERMARK,
    "脑机接口",
    "脑机接口不仅在医疗实现突破，正拓展至更多的互动场景。或许不久的将来我们将亲自见证意识上载从",
    "科幻成为现实，手机卫星电话、垂直起降飞机将改变我们的应急方式和出行模式以及未来的生活方式。",
    WATERMARK,
]


def test_hard_wrapped_lines_are_rejoined_across_blank_lines_and_watermarks():
    text = "\n\n".join(PDF_LINES) + "\n"
    doc = parse_text(text, name="pdf.txt")
    texts = [s.text for s in doc.sentences]
    across = "IBM公司宣布推出了第三代量子芯片以及基于该芯片的量子系统，这被认为是世界上首个模块化的实用量子计算机。"
    assert texts == [
        "量子计算",
        "作为当今世界科技的最前沿领域，量子科技的发展正在带来颠覆性和革命性的科学发现和科技发明，这无疑将推动人类社会实现跨越式发展。",
        across,
        "主持人表示希望能够更清楚地解释这一突破，以便大家能够更好地理解可能改变人类文明的重大事件。",
        "另一家公司也发布了新的量子处理器，其性能比上一代提升了很多倍，研究人员认为这将加速量子计算的实用化进程并带来更多的应用场景。",
        "脑机接口",
        "脑机接口不仅在医疗实现突破，正拓展至更多的互动场景。",
        "或许不久的将来我们将亲自见证意识上载从科幻成为现实，手机卫星电话、垂直起降飞机将改变我们的应急方式和出行模式以及未来的生活方式。",
    ]
    sentence = doc.sentences[texts.index(across)]
    watermark_at = text.index(WATERMARK)
    assert sentence.start < watermark_at < sentence.end
    assert not any(watermark_at <= o < watermark_at + len(WATERMARK) for o in sentence.offsets)
    for s in doc.sentences:
        assert_offsets_exact(doc, s)


def test_latin_lines_rejoin_with_one_space_and_cjk_lines_without():
    doc = parse_text("Quantum computing is\nadvancing fast. 量子计算正在\n快速发展。\n", name="x.txt")
    assert [s.text for s in doc.sentences] == ["Quantum computing is advancing fast.", "量子计算正在快速发展。"]
    for s in doc.sentences:
        assert_offsets_exact(doc, s)


def test_paragraphs_ending_in_punctuation_are_not_glued():
    doc = parse_text("第一段结束了。\n第二段开始\n并且继续。\n\n# 标题\n正文。\n", name="x.md")
    assert [s.text for s in doc.sentences] == ["第一段结束了。", "第二段开始并且继续。", "标题", "正文。"]
    assert doc.sentences[-1].section == "标题"


# ---------------------------------------------------------------- sentences


def spans(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_split_on_chinese_and_latin_end_punctuation():
    assert spans("第一句。第二句！第三句？Fourth one! Fifth? Sixth. 最后") == [
        "第一句。", "第二句！", "第三句？", "Fourth one!", "Fifth?", "Sixth.", "最后",
    ]


def test_no_split_inside_numbers_or_abbreviations():
    assert spans("Gemini 1.5 Pro 发布了。") == ["Gemini 1.5 Pro 发布了。"]
    assert spans("版本 v2. 3 很好。") == ["版本 v2. 3 很好。"]
    assert spans("Tools, e.g. Qiskit, help. Next.") == ["Tools, e.g. Qiskit, help.", "Next."]
    assert spans("www.ibm.com 上线。") == ["www.ibm.com 上线。"]


def test_closing_quotes_and_repeated_marks_stay_with_the_sentence():
    assert spans("他说：“我们成功了。”然后离开。") == ["他说：“我们成功了。”", "然后离开。"]
    assert spans("真的吗？！（是的。）好。") == ["真的吗？！", "（是的。）", "好。"]
    assert spans('He said "done." Then left.') == ['He said "done."', "Then left."]
    assert spans("《标题》发布了……接着") == ["《标题》发布了……", "接着"]


def test_spans_are_trimmed_and_never_empty():
    assert split_sentences("  。 ") == [(2, 3)]
    assert split_sentences("   ") == []
    assert split_sentences("") == []


# ---------------------------------------------------------------- offsets


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name)
def test_corpus_sentence_offsets_point_at_the_original(path):
    doc = load_document(path)
    assert len(doc.sentences) > 50
    assert [s.index for s in doc.sentences] == list(range(len(doc.sentences)))
    for sentence in doc.sentences:
        assert sentence.text and sentence.text == sentence.text.strip()
        assert_offsets_exact(doc, sentence)
    starts = [s.start for s in doc.sentences]
    assert starts == sorted(starts)


def test_markdown_markup_is_removed_but_offsets_still_point_at_the_text():
    text = (
        "# 第一章 **量子**计算\n"
        "\n"
        "> 这是 **加粗** 的文字，参见[链接文字](https://example.com/a)。\n"
        "- 列表项 *强调* 内容。\n"
        "1. 第一步 ![图](x.png) 完成。\n"
    )
    doc = parse_text(text, name="x.md")
    assert [s.text for s in doc.sentences] == [
        "第一章 量子计算",
        "这是 加粗 的文字，参见链接文字。",
        "列表项 强调 内容。",
        "第一步  完成。",
    ]
    link = doc.sentences[1]
    i = link.text.index("链接文字")
    assert link.original_span(i, i + 4) == (text.index("链接文字"), text.index("链接文字") + 4)
    assert link.offsets[link.text.index("加粗")] == text.index("加粗")
    assert doc.sentences[0].start == text.index("第一章")
    for s in doc.sentences:
        assert "*" not in s.text and "#" not in s.text and "](" not in s.text
        for char, offset in zip(s.text, s.offsets):
            assert text[offset] == char


# ---------------------------------------------------------------- property


WORDS = st.sampled_from([
    "量子", "计算", "芯片", "脑机接口", "人工智能", "发布", "IBM", "Heron", "Gemini", "1.5", "v2", "e.g.",
    "the", "model", "。", "，", "！", "？", "!", "?", ". ", "：", "“", "”", "（", "）", "、", " ", "2024",
])
PARAGRAPH = st.lists(WORDS, min_size=1, max_size=40).map("".join)


@st.composite
def wrapped_documents(draw) -> str:
    """Paragraphs hard-wrapped at random points, with random blank lines and indentation."""
    lines = []
    for paragraph in draw(st.lists(PARAGRAPH, min_size=1, max_size=6)):
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(paragraph) - 1)), max_size=5)))
        pieces = [paragraph[a:b] for a, b in zip([0, *cuts], [*cuts, len(paragraph)])]
        for piece in pieces:
            lines.append(draw(st.sampled_from(["", " ", "  "])) + piece + draw(st.sampled_from(["", " ", "\r"])))
            lines.extend([""] * draw(st.integers(0, 2)))
    return "\n".join(lines)


@settings(max_examples=150, deadline=None)
@given(wrapped_documents())
def test_every_sentence_character_maps_back_to_the_identical_original_character(text):
    doc = parse_text(text, name="random.txt")
    assert doc.text == text
    kept = 0
    for sentence in doc.sentences:
        assert_offsets_exact(doc, sentence)
        kept += sum(1 for c in sentence.text if not c.isspace())
    # nothing but whitespace, boilerplate-looking lines and bullet markers may be dropped
    assert kept <= sum(1 for c in text if not c.isspace())


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("量子计算AIb1.。！？!?*_#[]()>-+、 \n\r\t“”")), max_size=120))
def test_offsets_hold_for_arbitrary_markup_like_text(text):
    doc = parse_text(text, name="random.md")
    for sentence in doc.sentences:
        assert len(sentence.offsets) == len(sentence.text)
        for char, offset in zip(sentence.text, sentence.offsets):
            if not char.isspace():
                assert text[offset] == char
        assert sentence.start == sentence.offsets[0]
        assert sentence.end == sentence.offsets[-1] + 1


# A PDF-like page: long lines cut mid-sentence, blank lines between them, section titles on
# their own lines. BODY is one long wrapped line of text.
BODY = "量子计算机正在从实验室走向工厂，越来越多的公司开始交付真正能用的机器，但纠错仍是难"


def _wrapped(*heads: str) -> str:
    lines = []
    for head in heads:
        lines += [head, ""] + [BODY, "", BODY + "题。", ""] * 5
    return "\n".join(lines) + "\n"


def _sections(text: str) -> list[str]:
    return list(dict.fromkeys(s.section for s in parse_text(text, name="p.txt").sentences))


def test_a_ranked_entry_is_a_section_title_even_with_commas():
    assert _sections(_wrapped("TOP1：量子计算，开始跑马圈地", "TOP2：大模型，商业模式何去何从")) == [
        "TOP1：量子计算，开始跑马圈地", "TOP2：大模型，商业模式何去何从"]


def test_a_title_the_pdf_cut_keeps_its_short_tail_but_not_the_next_paragraph():
    long_title = "TOP1：量子计算和量子通信技术，开始跑马圈地，2024 年将是量子计算"
    text = _wrapped(long_title).replace(long_title + "\n", long_title + "\n\n生态构建元年\n", 1)
    assert _sections(text) == [long_title + "生态构建元年"]
    # a full-width body line after a full-width title is a paragraph of its own
    assert _sections(_wrapped(long_title)) == [long_title]


@pytest.mark.parametrize("title, is_title", [
    ("推特“杀手”", True),  # quotes inside a title
    ("“我们会成功”", False),  # a line that opens with a quote is a quotation
    ("煤油灯科技 www.example.com发布", False),  # a footer with a web address
])
def test_which_short_lines_are_section_titles(title, is_title):
    text = f"前言。\n\n{title}\n\n正文第一句。正文第二句。\n"
    assert (title in _sections(text)) is is_title
