"""Template text from config: only plain variables load, so rendering a loaded template never fails."""

from __future__ import annotations

import pytest

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.templates import ReplyTemplate, TemplateError, render


@pytest.mark.parametrize("body", [
    "Hi {author:d}, sorry about this.",  # raised ValueError in render()
    "Hi {author:{brand}}, sorry about this.",  # a nested field: ValueError in render() too
    "Hi {author:>999999999}, sorry about this.",  # rendered a string of a gigabyte
    "Hi {author!r}, sorry about this.",
    "Hi {author!s:^5}, sorry about this.",
])
def test_a_format_spec_or_conversion_is_refused_at_load_naming_the_template(body: str) -> None:
    with pytest.raises(TemplateError, match=r"template 'Sorry': \{author.+\} has a format spec or conversion"):
        ReplyTemplate("Sorry", body)


def test_a_bad_template_in_the_config_is_a_config_error_not_a_broken_panel() -> None:
    data = {"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}},
            "reply_templates": [{"name": "Check-in", "body": "Hi {author:d}, all good now?"}]}
    with pytest.raises(ConfigError, match=r"reply_templates: template 'Check-in': \{author:d\}"):
        Config.from_dict(data, env={})


def test_a_nul_in_template_text_is_refused_at_load() -> None:
    with pytest.raises(TemplateError, match="template 'Sorry': the text holds a NUL"):
        ReplyTemplate("Sorry", "Hi {author},\x00 sorry about this.")


def test_plain_variables_and_literal_braces_still_load_and_render() -> None:
    template = ReplyTemplate("Sorry", "Hi {author}, {brand} here: order {order_number}. {{author:d}} stays literal.")
    rendered = render(template, author="Ana", brand="Acme", order_number="12")
    assert rendered.text == "Hi Ana, Acme here: order 12. {author:d} stays literal."
