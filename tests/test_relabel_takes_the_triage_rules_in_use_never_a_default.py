"""A relabel ranks the mention again (needs-response, priority) by the [triage] rules it is given, and it must be
given them: a caller that forgot them used to rank it silently by the built-in rules, not the configured ones
(until 2026-12-07 only the dashboard's queue page passed them). Such a call is refused and changes nothing."""
from __future__ import annotations

import pytest

from monitor import triage
from monitor.models import Mention
from monitor.storage import Database
from tests.principals import ANA
from tests.test_dashboard_fixtures import add_mention


def test_a_relabel_without_the_rules_in_use_is_refused_and_changes_nothing(db: Database) -> None:
    mention_id = add_mention(db, text="@acme love it")
    with pytest.raises(TypeError, match="rules"):
        triage.relabel(db, [mention_id], ANA, sentiment="negative")  # type: ignore[call-arg]
    with db.read() as session:
        assert session.get_one(Mention, mention_id).human_sentiment_label is None
