"""`mentiondesk retriage`: changed [triage] rules reach mentions already classified, without the model."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from monitor.classify import MentionClassifier
from monitor.cli import cli
from monitor.models import Mention, utcnow
from monitor.retriage import retriage
from monitor.storage import Database
from sentiment.api import Prediction
from sentiment.triage import TriageRules, triage

TEXTS = {  # text: P(negative), P(neutral), P(positive)
    "my parcel is two weeks late": (0.7, 0.2, 0.1),
    "when do you open on sundays": (0.1, 0.8, 0.1),
    "the new app is lovely": (0.02, 0.08, 0.9),
}
SHORT_FRENCH = "Mon colis est en retard"   # too short to name among all languages
NEW_RULES = TriageRules.from_dict({"complaint_min_score": 0.8, "intent_weights": {"question": 30}, "reach_weight": 0})


class ScriptedModel:
    """Gives each text the probabilities in TEXTS; counts the texts it was asked about."""

    def __init__(self, detects: bool = True) -> None:
        self.asked = 0
        self.detects = detects

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
        self.asked += len(texts)
        out = []
        for text, lang in zip(texts, langs):
            scores = dict(zip(("negative", "neutral", "positive"), TEXTS.get(text, (0.7, 0.2, 0.1))))
            label = max(scores, key=scores.__getitem__)
            out.append(Prediction(label, scores[label], scores, lang or ("en" if self.detects else None)))
        return out


def classified(db: Database) -> list[Mention]:
    now = utcnow()
    with db.write() as session:
        # Minutes old, so that the recency term counts and its age must be read as it was.
        session.add_all(Mention(platform="sample", external_id=str(n), text=text, created_at=now - timedelta(minutes=n),
                                author_followers=10 ** (2 * n + 1), replyable=n != 1, raw={})
                        for n, text in enumerate(TEXTS))
    assert len(MentionClassifier(ScriptedModel(), TriageRules()).classify_pending(db)) == len(TEXTS)
    with db.read() as session:
        return list(session.scalars(select(Mention).order_by(Mention.id)))


def no_model() -> MentionClassifier:
    raise AssertionError("the stored probabilities were enough; the model was loaded")


def test_changed_rules_reach_classified_mentions_without_the_model(db: Database) -> None:
    before = classified(db)
    assert [m.intent for m in before] == ["complaint", "question", "praise"]

    result = retriage(db, NEW_RULES, no_model)

    with db.read() as session:
        after = list(session.scalars(select(Mention).order_by(Mention.id)))
    for old, new in zip(before, after):
        scores = old.sentiment_scores
        assert scores is not None and new.sentiment_scores == scores
        # As if classified under the new rules at the moment it was, not later.
        expected = triage(old.text, Prediction(old.sentiment_label, old.sentiment_score, scores, old.lang),
                          follower_count=old.author_followers, replyable=old.replyable,
                          age_seconds=(old.classified_at - old.created_at).total_seconds(), rules=NEW_RULES)
        assert (new.intent, new.needs_response, new.priority) == (expected.intent, expected.needs_response,
                                                                 expected.priority)
        assert (new.sentiment_label, new.classified_at, new.status) == (old.sentiment_label, old.classified_at,
                                                                        old.status)
    # P(negative) 0.7 is no complaint at 0.8, and needs no answer; questions weigh more; reach counts 0.
    assert after[0].intent == "other" and after[0].needs_response is False
    assert after[1].priority > before[1].priority
    assert after[2].priority < before[2].priority
    assert (result.changed, result.unchanged, result.rerun) == (3, 0, 0)
    again = retriage(db, NEW_RULES, no_model)
    assert (again.changed, again.unchanged, again.rerun) == (0, 3, 0)


def test_mentions_classified_before_probabilities_were_stored_run_through_the_model_once(db: Database) -> None:
    classified(db)
    with db.write() as session:  # as migration 0012 leaves rows classified before it
        session.execute(update(Mention).where(Mention.external_id != "1").values(sentiment_scores=None))
    loads, model = [], ScriptedModel()

    def load() -> MentionClassifier:
        loads.append(1)
        return MentionClassifier(model, TriageRules())

    result = retriage(db, NEW_RULES, load, rows_per_read=1)

    assert loads == [1] and model.asked == 2 and result.rerun == 2
    with db.read() as session:
        assert all(m.sentiment_scores for m in session.scalars(select(Mention)))
    assert retriage(db, NEW_RULES, no_model).rerun == 0


def test_retriage_command_applies_the_config_rules(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
                      '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n'
                      '[sentiment]\nbackend = "none"\n[triage]\nreach_weight = 0\n')
    db = Database.open(f"sqlite:///{tmp_path / 'm.db'}")
    db.upgrade()
    classified(db)
    runner = CliRunner()

    result = runner.invoke(cli, ["--config", str(config), "retriage"])

    assert result.exit_code == 0, result.output
    assert "re-triaged 3 mention(s): 3 changed, 0 unchanged; 0 " in result.output
    with db.write() as session:
        session.execute(update(Mention).values(sentiment_scores=None))
    without_model = runner.invoke(cli, ["--config", str(config), "retriage"])
    assert without_model.exit_code == 2
    assert 'need the model, and [sentiment] backend is "none" here' in without_model.output
    db.dispose()


@pytest.mark.parametrize("rows_per_read", [1, 500])
def test_unchanged_rules_change_nothing(db: Database, rows_per_read: int) -> None:
    before = classified(db)
    result = retriage(db, TriageRules(), no_model, rows_per_read=rows_per_read)
    with db.read() as session:
        after = list(session.scalars(select(Mention).order_by(Mention.id)))
    assert (result.changed, result.unchanged) == (0, 3)
    assert [(m.intent, m.priority) for m in after] == [(m.intent, m.priority) for m in before]


def test_mentions_without_a_language_are_detected_again_among_the_expected_ones(db: Database) -> None:
    with db.write() as session:
        session.add(Mention(platform="sample", external_id="fr", text=SHORT_FRENCH, created_at=utcnow(), raw={}))
    MentionClassifier(ScriptedModel(detects=False), TriageRules()).classify_pending(db)

    assert retriage(db, TriageRules(), no_model).languages_named == 0
    named = retriage(db, TriageRules(), no_model, expected_languages=("en", "fr"))

    assert (named.languages_named, named.changed) == (1, 0)
    with db.read() as session:
        assert session.scalars(select(Mention.lang)).one() == "fr"
    assert retriage(db, TriageRules(), no_model, expected_languages=("en", "fr")).languages_named == 0


def test_a_mention_classified_again_while_retriage_ran_keeps_the_newer_result(db: Database) -> None:
    classified(db)
    with db.write() as session:  # one mention from before migration 0012: retriage asks the model
        session.execute(update(Mention).where(Mention.external_id == "0").values(sentiment_scores=None))
    later = utcnow() + timedelta(seconds=5)

    class ClassifiedMeanwhile(ScriptedModel):
        """While retriage waits for the model, a worker writes a newer result for the same mention."""

        def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                     expected_languages: frozenset[str] = frozenset()) -> list[Prediction]:
            with db.write() as session:
                session.execute(update(Mention).where(Mention.external_id == "0")
                                .values(priority=99.0, classified_at=later))
            return super().classify(texts, langs, batch_size, expected_languages)

    retriage(db, NEW_RULES, lambda: MentionClassifier(ClassifiedMeanwhile(), TriageRules()))
    with db.read() as session:
        mention = session.scalars(select(Mention).where(Mention.external_id == "0")).one()
    assert (mention.priority, mention.classified_at, mention.sentiment_scores) == (99.0, later, None)
