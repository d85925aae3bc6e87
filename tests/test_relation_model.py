"""kg.nlp.relmodel: features, training on a toy signal, the ontology filter on predictions, the
JSON format (round trip, sorted and stable, bad files), and the shipped model used through
`extract_corpus`: it only adds relations, each admitted by the ontology and marked as the model's.
"""

from __future__ import annotations

import json
import math

import pytest

from kg.errors import ConfigError
from kg.model import admits
from kg.nlp.lexicon import load_lexicon
from kg.nlp.patterns import load_patterns
from kg.nlp.relmodel import LEARNED, NONE, Example, Pair, RelationModel, candidate_pairs, features, train
from kg.nlp.rules import Candidate
from kg.pipeline import RELATION_MODEL, extract_corpus, load_documents

FORMAT = "techkg-relation-model/1"


def mention(text: str, surface: str, type_: str, method: str = "rule:test") -> Candidate:
    start = text.index(surface)
    return Candidate(start, start + len(surface), type_, method, 0.8)


def tokens_of(text: str, words: list[str]) -> tuple[tuple[int, int], ...]:
    """Token spans for a text given as its words in order."""
    assert "".join(words) == text
    spans, pos = [], 0
    for w in words:
        spans.append((pos, pos + len(w)))
        pos += len(w)
    return tuple(spans)


# "星辰科技发布Quasar": the same words with the second name typed Product or Place
TEXT = "星辰科技发布Quasar"
TOKENS = tokens_of(TEXT, ["星辰科技", "发布", "Quasar"])


def sentence(second_type: str) -> list[Candidate]:
    return [mention(TEXT, "星辰科技", "Organization"), mention(TEXT, "Quasar", second_type)]


# --- features ----------------------------------------------------------------------------------

def test_features_describe_types_order_and_the_words_between():
    mentions = sentence("Product")
    forward = features(TEXT, TOKENS, mentions, Pair(0, 1))
    backward = features(TEXT, TOKENS, mentions, Pair(1, 0))
    assert {"tp=Organization>Product", "order=sf", "w=发布", "cue=发布", "clause=same"} <= set(forward)
    assert {"tp=Product>Organization", "order=of", "w=发布"} <= set(backward)


def test_features_are_deterministic():
    text = "星辰科技、云帆科技与蓝海科技在杭州发布了基于量子计算的 Quasar 芯片。"
    words = ["星辰科技", "、", "云帆科技", "与", "蓝海科技", "在", "杭州", "发布", "了", "基于", "量子计算", "的", " ",
             "Quasar", " ", "芯片", "。"]
    mentions = [mention(text, "星辰科技", "Organization"), mention(text, "云帆科技", "Organization"),
                mention(text, "蓝海科技", "Organization"), mention(text, "杭州", "Place"),
                mention(text, "量子计算", "Technology", "lexicon"), mention(text, "Quasar", "Product")]
    tokens = tokens_of(text, words)
    pairs = candidate_pairs(mentions)
    first = [features(text, tokens, mentions, p) for p in pairs]
    assert pairs == candidate_pairs(list(mentions))
    assert first == [features(text, tokens, list(mentions), p) for p in pairs]
    # other names between the two ends are described by their sorted types
    far = features(text, tokens, mentions, Pair(0, 5))
    assert {"ot=Organization", "ot=Place", "ot=Technology"} <= set(far)


def test_candidate_pairs_are_only_pairs_some_learned_predicate_admits():
    text = "星辰科技在杭州发布Quasar"
    mentions = [mention(text, "星辰科技", "Organization"), mention(text, "杭州", "Place"),
                mention(text, "Quasar", "Product")]
    pairs = {(p.subject, p.object) for p in candidate_pairs(mentions)}
    assert pairs == {(0, 1), (0, 2)}  # Org→Place locatedIn, Org→Product develops; nothing from a Place or to an Org
    for s, o in pairs:
        assert any(admits(p, mentions[s].type, mentions[o].type) for p in LEARNED)


# --- training and prediction -------------------------------------------------------------------

TOY = ([Example(("tp=Organization>Product", "w=发布"), "develops")] * 6
       + [Example(("tp=Organization>Place", "w=位于"), "locatedIn")] * 6
       + [Example(("tp=Organization>Product", "w=和"), NONE)] * 6
       + [Example(("tp=Organization>Place", "w=和"), NONE)] * 6)
BOTH = ["develops", "locatedIn"]


@pytest.fixture(scope="module")
def toy() -> RelationModel:
    return train(TOY)


def best(probs: dict[str, float]) -> str:
    return max(sorted(probs), key=lambda c: probs[c])


def test_training_learns_a_separable_signal(toy):
    assert set(toy.classes) == {"develops", "locatedIn", NONE}
    assert best(toy.probabilities(["tp=Organization>Product", "w=发布"], BOTH)) == "develops"
    assert best(toy.probabilities(["tp=Organization>Place", "w=位于"], BOTH)) == "locatedIn"
    assert best(toy.probabilities(["tp=Organization>Product", "w=和"], BOTH)) == NONE


def test_probabilities_are_a_distribution_over_none_and_the_allowed_predicates(toy):
    feats = ["tp=Organization>Product", "w=发布"]
    for allowed in (BOTH, ["locatedIn"], []):
        probs = toy.probabilities(feats, allowed)
        assert set(probs) == {NONE, *allowed}
        assert math.isclose(sum(probs.values()), 1.0)
    # the learned signal for develops cannot leak into a predicate that is not allowed
    assert "develops" not in toy.probabilities(feats, ["locatedIn"])


def test_training_is_deterministic():
    assert train(TOY).to_json() == train(list(TOY)).to_json()


def test_training_without_a_relation_gives_a_model_that_relates_nothing():
    model = train([Example(("w=和",), NONE)] * 3)
    assert model.classes == [NONE]
    assert model.predict(TEXT, TOKENS, sentence("Product")) == []


# A hand-made model: 发布 between two names says develops strongly and locatedIn weakly.
LOUD = RelationModel({"develops": {"w=发布": 10.0}, "locatedIn": {"w=发布": 2.0}, NONE: {}},
                     {"develops": 0.0, "locatedIn": 0.0, NONE: 0.0}, threshold=0.5)


def test_predict_returns_the_best_predicate_the_types_admit():
    assert [(p, c) for p, c, _ in LOUD.predict(TEXT, TOKENS, sentence("Product"))] == [(Pair(0, 1), "develops")]
    # Organization → Place: develops is not admitted, so the weaker locatedIn is the answer
    assert [(p, c) for p, c, _ in LOUD.predict(TEXT, TOKENS, sentence("Place"))] == [(Pair(0, 1), "locatedIn")]


@pytest.mark.parametrize("second", ["Product", "Place", "Technology", "Person", "Event"])
def test_predict_never_returns_a_predicate_the_ontology_refuses(second):
    mentions = sentence(second)
    for pair, predicate, prob in LOUD.predict(TEXT, TOKENS, mentions):
        assert predicate in LEARNED
        assert admits(predicate, mentions[pair.subject].type, mentions[pair.object].type)
        assert prob >= LOUD.threshold


# --- the JSON format ---------------------------------------------------------------------------

def test_a_saved_model_loads_with_identical_probabilities(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(LOUD.to_json(), encoding="utf-8")
    loaded = RelationModel.load(path)
    for feats in (["w=发布"], ["w=和"], []):
        assert loaded.probabilities(feats, BOTH) == LOUD.probabilities(feats, BOTH)
    assert loaded.threshold == LOUD.threshold


def test_a_trained_model_round_trips_through_json(toy, tmp_path):
    text = toy.to_json()
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    loaded = RelationModel.load(path)
    assert loaded.to_json() == text  # saving what was loaded changes nothing
    for feats in (["tp=Organization>Product", "w=发布"], ["tp=Organization>Place", "w=位于"], ["w=和"]):
        # weights are rounded to 6 decimals and those below 0.02 dropped when saved
        saved, original = loaded.probabilities(feats, BOTH), toy.probabilities(feats, BOTH)
        assert saved.keys() == original.keys()
        assert all(math.isclose(saved[c], original[c], abs_tol=0.01) for c in saved)
        assert best(saved) == best(original)


def test_the_json_is_sorted_and_keeps_chinese_as_written(toy):
    text = toy.to_json()
    data = json.loads(text)
    assert text == json.dumps(data, ensure_ascii=False, sort_keys=True, indent=0)
    assert data["format"] == FORMAT
    assert "w=发布" in text  # not \\u escapes


def write(tmp_path, text: str):
    path = tmp_path / "model.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, message", [
    ("{", "cannot load the relation model: Expecting property name"),
    (json.dumps({"format": "other/1"}), "not a techkg relation model"),
    (json.dumps({"format": FORMAT, "threshold": 0.5, "weights": {}}), "'bias'"),
    (json.dumps({"format": FORMAT, "threshold": "high", "bias": {NONE: 0}, "weights": {}}), "could not convert"),
    (json.dumps({"format": FORMAT, "threshold": 0.5, "bias": {NONE: 0}, "weights": {"develops": {"w=a": 1}}}),
     "'develops'"),
])
def test_a_bad_model_file_raises_config_error_naming_it(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        RelationModel.load(path)
    assert str(info.value).startswith(f"{path}: cannot load the relation model")
    assert message in str(info.value)


def test_a_missing_model_file_raises_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError) as info:
        RelationModel.load(tmp_path / "none.json")
    assert str(info.value).startswith(f"{tmp_path / 'none.json'}: cannot load the relation model")


@pytest.mark.parametrize("text", [
    "[]",
    json.dumps({"format": FORMAT, "threshold": 0.5, "bias": {NONE: 0}, "weights": []}),
    json.dumps({"format": FORMAT, "threshold": 0.5, "bias": {"develops": 0}, "weights": {}}),
], ids=["top-level-list", "weights-list", "no-none-class"])
def test_a_structurally_wrong_model_file_raises_config_error(tmp_path, text):
    with pytest.raises(ConfigError):
        RelationModel.load(write(tmp_path, text)).probabilities(["w=a"], [])


# --- the shipped model -------------------------------------------------------------------------

def test_the_shipped_model_loads():
    model = RelationModel.load(RELATION_MODEL)
    assert NONE in model.classes and set(model.classes) - {NONE} <= set(LEARNED)
    assert 0 < model.threshold < 1
    assert model.meta["documents"] and model.meta["examples"] > 0


SHIPPED_TEXT = """星辰科技是一家专注量子计算的公司，其量子芯片 Quasar 采用超导技术。
IBM 公司宣布推出了第三代量子芯片 Heron，IBM 在量子计算领域持续投入。
OpenAI 发布了文生视频大模型 Sora，Sora 能够根据文本生成视频。
英伟达在加州圣克拉拉发布了 B200 芯片，用于生成式人工智能。
"""


@pytest.fixture(scope="module")
def with_and_without_model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("shipped")
    (directory / "t.txt").write_text(SHIPPED_TEXT, encoding="utf-8")
    documents, _ = load_documents([directory])
    lexicon, patterns = load_lexicon(), load_patterns()
    rules = extract_corpus(documents, lexicon=lexicon, patterns=patterns)
    model = extract_corpus(documents, lexicon=lexicon, patterns=patterns,
                           relation_model=RelationModel.load(RELATION_MODEL))
    return rules, model


def test_the_shipped_model_only_adds_relations(with_and_without_model):
    rules, model = with_and_without_model
    assert [e.key for e in model.entities] == [e.key for e in rules.entities]
    assert {r.triple for r in rules.relations} <= {r.triple for r in model.relations}
    learned = [r for r in model.relations if any(e.method == "model:relations" for e in r.evidence)]
    assert learned, "the shipped model proposed nothing on this text"


def test_relations_from_the_shipped_model_are_admitted_by_the_ontology(with_and_without_model):
    _, model = with_and_without_model
    types = {e.key: e.type for e in model.entities}
    threshold = RelationModel.load(RELATION_MODEL).threshold
    for r in model.relations:
        for ev in r.evidence:
            if ev.method != "model:relations":
                continue
            assert r.predicate in LEARNED
            assert admits(r.predicate, types.get(r.subject), types.get(r.object)), r.triple
            assert threshold * 0.85 - 1e-3 <= ev.confidence <= 0.85  # the model's probability, discounted


# A hand-made model that calls every pair it may relate inField, to see what the pipeline keeps.
EAGER = RelationModel({"inField": {}, NONE: {}}, {"inField": 5.0, NONE: 0.0}, threshold=0.5)


def test_a_learned_field_across_a_clause_break_is_not_kept():
    from kg.ingest import parse_text
    from kg.nlp.pipeline import Extractor

    extractor = Extractor(load_lexicon(), load_patterns(), relation_model=EAGER)
    document = parse_text("星辰科技推出的 Quasar 2 用于量子计算。\nQuasar 2 卖得很好，量子计算也很热。\n", name="t.txt")
    learned = {(r.sentence, r.predicate) for x in extractor.extract(document) for r in x.relations
               if r.method == "model:relations"}
    assert (0, "inField") in learned  # same clause: the model is heard
    assert (1, "inField") not in learned  # another clause: a field named there is rarely the pair's
