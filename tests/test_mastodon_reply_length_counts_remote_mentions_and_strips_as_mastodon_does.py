"""Mastodon counts a remote @user@domain as its @user part for every username it accepts ("." and "-" inside,
as Friendica and Hubzilla accounts have) and every domain its [[:word:]] reads (IDN domains in their own script),
and checks the stripped text. The reply box counted these in full and refused replies Mastodon takes."""

from __future__ import annotations

import pytest

from connectors.base import ReplyTarget
from connectors.mastodon import MastodonConnector, status_length

BODY = "x" * 480


@pytest.mark.parametrize("acct", ["ana@pleroma.example", "jane.doe@friendica.example.org",
                                  "max-mueller@hubzilla.example", "yuki@例え.jp", "ravi@उदाहरण.भारत"])
def test_a_remote_mention_counts_as_its_user_part(acct: str) -> None:
    user = acct.split("@")[0]
    assert status_length(f"@{acct} {BODY}") == len(f"@{user} ") + len(BODY)


def test_the_reply_prefix_to_a_dotted_remote_account_fits_a_reply_mastodon_takes() -> None:
    connector = MastodonConnector(MastodonConnector.Settings(api_base_url="https://mastodon.social"),
                                  {"access_token": "t"})
    target = ReplyTarget("mastodon", "1", True, None,
                         {"acct": "jane.doe@friendica.example.org", "visibility": "public"})
    body = "x" * (500 - len("@jane.doe "))
    assert status_length(connector.reply_prefix(target, body) + body) == 500


def test_what_is_not_a_mention_counts_in_full() -> None:
    for text in ("mail ana@pleroma.example", "x.example/@ana@pleroma.example", "a=@ana@pleroma.example",
                 "@.ana@pleroma.example", "@ana@"):
        assert status_length(text) == len(text), text
    assert status_length("see https://mastodon.social/@ana@pleroma.social ok") == len("see  ok") + 23
    assert status_length("@ana@pleroma.example.") == len("@ana.")  # the sentence's full stop is not the domain's


def test_leading_and_trailing_whitespace_is_not_counted() -> None:
    assert status_length("\n @ana " + "x" * 490 + "\n\n\n\n\n\n\n\n\t ") == 495
    assert status_length("\u3000x\u3000") == 3  # Ruby's strip leaves other spaces: Mastodon counts them
