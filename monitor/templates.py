"""Reply templates with variables, and each platform's idea of how long a reply is.

Variables: ``{author}`` (the author's name, else @handle; in an incident's unreviewed bulk reply, the
@handle only), ``{brand}`` and ``{order_number}``, a slot
staff fill in; a reply with an unfilled slot is not ready to send. X counts length its own way
(see :mod:`connectors.x_text`); other platforms count characters.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from connectors.base import Capabilities
from monitor.errors import MentiondeskError, ReplyError
from monitor.ingest import check_storable

VARIABLES: tuple[str, ...] = ("author", "brand", "order_number")
SLOT_HINT = {"order_number": "[order number]"}


class TemplateError(MentiondeskError):
    """A template uses an unknown variable, a format spec, broken braces or text that cannot be stored."""


class UnfilledSlot(ReplyError):
    """A reply still holds a slot hint such as "[order number]": never post it to a customer."""


class ReplyTooLong(ReplyError):
    pass


@dataclass(frozen=True)
class ReplyTemplate:
    name: str
    body: str
    platforms: tuple[str, ...] = ()  # empty: every platform
    # The language of this variant (ISO 639-1); templates sharing a name are one template in several
    # languages, and None marks the variant used where no other fits.
    lang: str | None = None
    # Mentions this template answers, in any language: what reply suggestions compare a mention with.
    examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(self.body)
                      if name is not None]
        except ValueError as exc:
            raise TemplateError(f"template {self.name!r}: {exc} (write {{{{ and }}}} for literal braces)") from None
        plain = ", ".join("{" + v + "}" for v in VARIABLES)
        unknown = sorted({name for name, _, _ in fields if name not in VARIABLES})
        if unknown:
            raise TemplateError(f"template {self.name!r}: unknown variable(s) {', '.join(unknown)}; use {plain}")
        # A format spec or conversion only breaks a template: "{author:d}" or a nested "{author:{brand}}"
        # raised in render() on every open mention, and "{author:>999999999}" rendered a gigabyte.
        for name, spec, conv in fields:
            if spec or conv:
                written = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
                raise TemplateError(f"template {self.name!r}: {written} has a format spec or conversion; "
                                    f"write the variable plainly: {plain}")
        check_storable(self.body, f"template {self.name!r}: the text", TemplateError)

    def fits(self, platform: str) -> bool:
        return not self.platforms or platform in self.platforms


DEFAULT_TEMPLATES: tuple[ReplyTemplate, ...] = (
    ReplyTemplate("Sorry + DM", "Hi {author}, sorry about this. Could you send us a DM so {brand} support can look into it?"),
    ReplyTemplate("Order follow-up", "Hi {author}, thanks for waiting. We have checked order {order_number} and will update you today. {brand} support"),
    ReplyTemplate("Thanks", "Thank you {author}! The {brand} team is glad to hear it."),
)


@dataclass(frozen=True)
class RenderedReply:
    text: str
    missing: tuple[str, ...]  # slots still to fill in before sending


def render(template: ReplyTemplate, *, author: str, brand: str, order_number: str = "") -> RenderedReply:
    values = {"author": author, "brand": brand, "order_number": order_number.strip()}
    used = {name for _, name, _, _ in string.Formatter().parse(template.body) if name}
    missing = tuple(v for v in VARIABLES if v in used and not values[v])
    filled = {k: (v or SLOT_HINT.get(k, "")) for k, v in values.items()}
    return RenderedReply(template.body.format(**filled), missing)


def template_names(templates: Sequence[ReplyTemplate], platform: str | None = None) -> list[str]:
    """Each template (for ``platform``; None: any) once, its language variants sharing the name, in config order."""
    return list(dict.fromkeys(t.name for t in templates if platform is None or t.fits(platform)))


def primary_language(tag: str) -> str:
    """A language tag's primary subtag: "es" of "es-mx". Stored and configured tags are lower case
    (monitor.ingest.language_tag, the config's template ``lang``)."""
    return tag.split("-", 1)[0]


def pick_variant(templates: Sequence[ReplyTemplate], name: str, lang: str | None,
                 platform: str) -> ReplyTemplate | None:
    """The variant of template ``name`` for a mention: in its language if there is one (the mention's
    whole tag first, then its primary language: ``pt-br`` takes a ``pt`` variant), else the default
    variant (no ``lang``), else the first."""
    variants = [t for t in templates if t.name == name and t.fits(platform)]
    wanted = (lang, primary_language(lang)) if lang else ()
    return (next((t for tag in wanted for t in variants if t.lang == tag), None)
            or next((t for t in variants if t.lang is None), None)
            or (variants[0] if variants else None))


def author_label(author_name: str | None, author_handle: str | None) -> str:
    return author_name or (f"@{author_handle}" if author_handle else "there")


def unfilled_slots(text: str) -> list[str]:
    """The template slot hints (e.g. "[order number]") still in ``text`` in place of their values."""
    return [hint for hint in SLOT_HINT.values() if hint in text]


def check_filled(text: str) -> None:
    """Refuse a reply that still shows a template slot's hint in place of its value."""
    unfilled = unfilled_slots(text)
    if unfilled:
        raise UnfilledSlot(f"the reply still says {', '.join(unfilled)}: fill it in before sending")


@dataclass(frozen=True)
class ReplyMeasure:
    """A reply's length by its platform's rule, and its UTF-8 size where the platform caps that too (Bluesky)."""

    length: int
    limit: int | None
    unit: str
    size: int
    size_limit: int | None

    @property
    def too_many_characters(self) -> bool:
        return self.limit is not None and self.length > self.limit

    @property
    def too_many_bytes(self) -> bool:
        return self.size_limit is not None and self.size > self.size_limit

    def summary(self) -> str:
        """The reply box's count, e.g. "120 / 300 graphemes · 3,012 / 3,000 UTF-8 bytes — too long"."""
        text = f"{self.length} / {self.limit if self.limit is not None else '∞'} {self.unit}"
        if self.size_limit is not None:
            text += f" · {self.size:,} / {self.size_limit:,} UTF-8 bytes"
        return text + (" — too long" if self.too_many_characters or self.too_many_bytes else "")


def measure(capabilities: Capabilities, text: str) -> ReplyMeasure:
    return ReplyMeasure(capabilities.reply_length(text), capabilities.max_reply_chars, capabilities.length_unit,
                        len(text.encode("utf-8", "surrogatepass")), capabilities.max_reply_bytes)


def check_length(capabilities: Capabilities, platform: str, text: str) -> None:
    """Refuse a reply longer than the platform takes, counted by its connector's rule."""
    measured = measure(capabilities, text)
    if measured.too_many_characters:
        raise ReplyTooLong(f"the reply is {measured.length} {measured.unit}; {platform} allows {measured.limit}")
    if measured.too_many_bytes:
        raise ReplyTooLong(f"the reply is {measured.size} UTF-8 bytes; {platform} allows {measured.size_limit}")


__all__ = ["DEFAULT_TEMPLATES", "RenderedReply", "ReplyMeasure", "ReplyTemplate", "ReplyTooLong", "TemplateError",
           "UnfilledSlot", "VARIABLES", "author_label", "check_filled", "check_length", "measure", "pick_variant",
           "render", "template_names", "unfilled_slots"]
