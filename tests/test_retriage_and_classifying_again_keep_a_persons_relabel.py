"""A person's relabel decides a mention's needs-response and priority, and keeps deciding them: `mentiondesk
retriage` and a mention classified again (ingest moved it to another brand, or a person relabelled it while a
worker was classifying it) apply the [triage] rules with the person's labels winning, not the model's alone."""

from __future__ import annotations

from sqlalchemy import select, update

from monitor.access import Principal, Role
from monitor.classify import MentionClassifier
from monitor.models import Mention
from monitor.retriage import retriage
from monitor.storage import Database
from monitor.triage import relabel
from sentiment.triage import DEFAULT_RULES, TriageRules
from tests.test_retriage import ScriptedModel, classified, no_model

AGENT = Principal("ana", Role.AGENT)
# classified(): a replyable complaint (P(negative) 0.7), a question that cannot be answered there, a replyable praise.
COMPLAINT, QUESTION, PRAISE = 0, 1, 2


def mentions(db: Database) -> list[Mention]:
    with db.read() as session:
        return list(session.scalars(select(Mention).order_by(Mention.id)))


def test_a_relabel_ranks_the_mention_by_the_persons_labels_and_retriage_keeps_it(db: Database) -> None:
    before = classified(db)
    ids = [m.id for m in before]

    relabel(db, [ids[COMPLAINT]], AGENT, sentiment="positive", intent="praise", rules=DEFAULT_RULES)
    # Agrees with the model.
    relabel(db, [ids[QUESTION]], AGENT, sentiment="neutral", intent="question", rules=DEFAULT_RULES)
    relabel(db, [ids[PRAISE]], AGENT, sentiment="negative", intent="complaint", rules=DEFAULT_RULES)
    relabelled = mentions(db)
    result = retriage(db, TriageRules(), no_model)

    after = mentions(db)
    assert [m.needs_response for m in after] == [False, False, True]
    assert after[COMPLAINT].priority < before[COMPLAINT].priority
    assert after[QUESTION].priority == before[QUESTION].priority
    assert after[PRAISE].priority > before[PRAISE].priority
    assert [(m.needs_response, m.priority) for m in after] == [(m.needs_response, m.priority) for m in relabelled]
    assert (result.changed, result.unchanged) == (0, 3)
    # What the model read is kept beside the person's labels.
    assert [m.intent for m in after] == ["complaint", "question", "praise"]


def test_a_relabel_applies_the_triage_rules_in_use(db: Database) -> None:
    ids = [m.id for m in classified(db)]
    answers_praise = TriageRules.from_dict({"response_intents": ["complaint", "question", "praise"]})

    relabel(db, [ids[COMPLAINT]], AGENT, intent="praise", rules=answers_praise)

    assert mentions(db)[COMPLAINT].needs_response is True


def test_a_relabelled_mention_classified_again_keeps_the_persons_labels_effect(db: Database) -> None:
    ids = [m.id for m in classified(db)]
    relabel(db, [ids[COMPLAINT]], AGENT, sentiment="positive", intent="praise", rules=DEFAULT_RULES)
    relabel(db, [ids[PRAISE]], AGENT, intent="complaint", rules=DEFAULT_RULES)
    relabelled = mentions(db)
    with db.write() as session:  # as ingest leaves a mention it moved to another brand
        session.execute(update(Mention).values(classified_at=None))

    assert len(MentionClassifier(ScriptedModel(), TriageRules()).classify_pending(db)) == 3

    again = mentions(db)
    assert [m.needs_response for m in again] == [False, False, True]
    assert again[COMPLAINT].priority == relabelled[COMPLAINT].priority


class RelabelledWhileRead(ScriptedModel):
    """A person relabels the first mention praise while the model reads it."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    def classify(self, texts, langs, batch_size=64, expected_languages=frozenset()):
        if self.asked == 0:
            with self.db.read() as session:
                first = session.scalar(select(Mention.id).order_by(Mention.id).limit(1))
            relabel(self.db, [first], AGENT, sentiment="positive", intent="praise", rules=DEFAULT_RULES)
        return super().classify(texts, langs, batch_size, expected_languages)


def test_a_mention_relabelled_while_a_worker_classifies_it_follows_the_persons_labels(db: Database) -> None:
    ids = [m.id for m in classified(db)]
    with db.write() as session:
        session.execute(update(Mention).values(classified_at=None))

    assert sorted(MentionClassifier(RelabelledWhileRead(db), TriageRules()).classify_pending(db)) == ids

    assert [m.needs_response for m in mentions(db)] == [False, False, False]


def test_a_mention_relabelled_while_retriage_runs_the_model_keeps_the_persons_labels_effect(db: Database) -> None:
    classified(db)
    with db.write() as session:  # classified before the probabilities were stored: retriage runs the model
        session.execute(update(Mention).values(sentiment_scores=None))

    retriage(db, TriageRules(), lambda: MentionClassifier(RelabelledWhileRead(db), TriageRules()))

    assert [m.needs_response for m in mentions(db)] == [False, False, False]
