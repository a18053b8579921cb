"""Replying from a mention: templates, the platform's limit, a preview, one send, visible failures."""

from __future__ import annotations

import re

import streamlit as st

from monitor import followups, presence, replies
from connectors.base import Connector
from monitor.access import Principal, Role
from monitor.errors import MentiondeskError, ReplyStateError
from monitor.models import Mention, Reply, ReplyState
from monitor.presence import Activity, ReplyCollision
from monitor.storage import Database
from monitor.suggestions import suggest
from sentiment.errors import SentimentError
from monitor.templates import SLOT_HINT, author_label, pick_variant, render, template_names, unfilled_slots
from dashboard.context import AppContext, acting_user, kept
from dashboard.safe import md_escape, safe_url, show_error, text_box

ORDER_SLOT = SLOT_HINT["order_number"]


def history(ctx: AppContext, user: Principal, mention: Mention, sent: list[Reply]) -> None:
    """Every reply so far, with its state; failed ones show the platform's error and, for an agent, can be
    retried (a viewer only reads them)."""
    agent = user.has(Role.AGENT)
    connector = ctx.connector(mention.platform)
    for r in sent:
        with st.container(border=True, key=f"reply-{r.id}"):
            st.caption(f"Reply by {md_escape(r.author)} · {r.state} · {r.updated_at:%Y-%m-%d %H:%M} UTC"
                       + (f" · attempts {r.attempts}" if r.attempts > 1 else ""))
            st.html(text_box(r.body, "md-reply"))
            link = safe_url(r.url)
            if link:
                st.link_button("View on the platform", link)
            if r.state == ReplyState.FAILED.value:
                show_error(r.error, "Not posted: ")
                if agent and connector is not None:
                    st.button("Retry this reply", key=f"retry-{r.id}", on_click=_send, args=(ctx, mention.id, r.id))
            elif replies.outcome_unknown(r):
                st.warning(md_escape(r.error) or "Its send stopped before the platform answered (the worker was "
                                                 "stopped?): check the platform.")
                if not agent:
                    continue
                yes, no = st.columns(2)
                for column, posted, label in ((yes, True, "I checked: it was posted"),
                                              (no, False, "I checked: it was not posted")):
                    if column.button(label, key=f"{'posted' if posted else 'notposted'}-{r.id}"):
                        try:
                            replies.resolve_unknown(ctx.db, r.id, user, posted=posted)
                        except ReplyStateError as exc:  # someone else checked it first
                            st.warning(md_escape(str(exc)))
                        else:
                            st.rerun()


def reply_connector(ctx: AppContext, mention: Mention) -> Connector | None:
    """The connector that posts replies to ``mention``; None where its platform has none here (not set up,
    disabled, or one that only reads), so no reply or check-in is offered."""
    connector = ctx.connector(mention.platform)
    return connector if connector is not None and connector.capabilities.can_reply else None


def composer(ctx: AppContext, user: Principal, mention: Mention) -> None:
    connector = reply_connector(ctx, mention)
    original = safe_url(mention.url)
    if connector is None:
        st.info(f"Replies to {md_escape(mention.platform)} are not available here; answer on the platform.")
        if original:
            st.link_button("Open the original post", original)
        return
    if (competitor := ctx.competitor_of(mention)) is not None:
        st.info(f"This mention is about {md_escape(competitor)}, a competitor brand: its customers are not ours to "
                "answer, so no reply is sent from here.")
        return
    if (why_not := replies.why_not_replyable(mention, connector)) is not None:
        st.warning(f"{md_escape(why_not)}.", icon="🔗")
        if original:
            st.link_button("Open the original post", original)
        return

    text_key, order_key = f"reply-text-{mention.id}", f"order-{mention.id}"
    rendered_key, order_shown_key = f"reply-rendered-{mention.id}", f"reply-order-shown-{mention.id}"
    templates = [t for t in ctx.settings.templates if t.fits(mention.platform)]
    names = ["(write your own)", *template_names(templates, mention.platform)]

    def apply_template() -> None:
        chosen = st.session_state[f"template-{mention.id}"]
        template = pick_variant(templates, chosen, mention.lang, mention.platform)
        if template is not None:
            order_number = st.session_state.get(order_key, "").strip()
            rendered = render(template, author=author_label(mention.author_name, mention.author_handle),
                              brand=ctx.brand_name(mention), order_number=order_number)
            st.session_state[text_key] = st.session_state[rendered_key] = rendered.text
            st.session_state[order_shown_key] = order_number or ORDER_SLOT

    def fill_order_number() -> None:
        # The whole template again only while the box holds it as rendered; an agent's edits are
        # kept, and the order number (or its slot) is replaced where it stands in their text.
        text = st.session_state.get(text_key, "")
        if not text.strip() or text == st.session_state.get(rendered_key):
            apply_template()
            return
        order_number = st.session_state[order_key].strip() or ORDER_SLOT
        was = st.session_state.get(order_shown_key, ORDER_SLOT)
        standing = re.compile(rf"(?<!\w){re.escape(was)}(?!\w)")
        found = len(standing.findall(text))
        if found != 1:  # twice ("2 parcels … order 2"): which one is the order number is a guess
            where = "does not say" if not found else "says more than once"
            _outcome(mention.id, "info", f"Your reply {where} {was}: type the order number into it yourself.")
            return
        st.session_state[text_key] = standing.sub(lambda _: order_number, text)
        st.session_state[order_shown_key] = order_number

    left, right = st.columns([2, 1])
    # Kept per mention: opening another one, or another page, and coming back finds the draft as left.
    kept(left.selectbox, "Template", names, key=f"template-{mention.id}", on_change=apply_template)
    kept(right.text_input, "Order number", key=order_key, on_change=fill_order_number)
    suggestions(ctx, mention, text_key)
    text = kept(st.text_area, "Reply", key=text_key, height=120)
    if text.strip():
        presence.touch(ctx.db, mention.id, user.name, Activity.DRAFTING)
    st.caption(replies.measured(connector, mention, text).summary())  # Mastodon's @acct in front counts too
    unfilled = unfilled_slots(text)
    if text.strip():
        st.caption("Preview")
        st.html(text_box(text, "md-preview"))
    if unfilled:
        st.warning("Fill in the order number before sending.")
    _show_outcome(mention.id)
    # Never disabled: the box hands over typed text only as it loses focus, which is the click on
    # Send itself, so a button drawn disabled for the empty box would swallow that first click.
    # The callback checks the text it is given and says why it sends nothing.
    st.button("Send reply", key=f"send-{mention.id}", type="primary", on_click=_send_text, args=(ctx, mention.id))


def suggestions(ctx: AppContext, mention: Mention, text_key: str) -> None:
    """On request, the three templates or past replies closest to the mention (any language); one click fills the box."""
    key = f"suggestions-{mention.id}"
    if key not in st.session_state:
        if not st.button("Suggest replies", key=f"suggest-{mention.id}"):
            return
        try:
            with st.spinner("Finding the closest templates and past replies…"):
                st.session_state[key] = suggest(ctx.db, mention.id, ctx.settings.templates,
                                                default_brand=ctx.default_brand,
                                                check_in_template=ctx.config.check_ins.template)
        except (MentiondeskError, SentimentError, ImportError, OSError) as exc:  # no model installed or loadable here
            st.warning(f"Suggestions are not available: {md_escape(str(exc))}")
            return
    for i, suggestion in enumerate(st.session_state[key]):
        with st.container(border=True, key=f"suggestion-{mention.id}-{i}"):
            st.caption(f"{suggestion.kind}: {md_escape(suggestion.title)} · similarity {suggestion.score:.2f}")
            st.html(text_box(suggestion.text, "md-suggestion"))
            st.button("Use this", key=f"use-suggestion-{mention.id}-{i}", on_click=_use, args=(text_key, suggestion.text))


def _use(text_key: str, text: str) -> None:
    st.session_state[text_key] = text


# Sending runs in button callbacks: they run before the page is drawn again, so a sent reply's text
# can be cleared, and a second click (or a rerun) finds an empty box or an already-sent draft.
# They take no principal: each asks for the signed-in user as they are at the click (acting_user).

def _send_text(ctx: AppContext, mention_id: int) -> None:
    user = acting_user(ctx, Role.AGENT, "sending a reply")
    if user is None:
        return
    text = st.session_state.get(f"reply-text-{mention_id}", "")
    reply_key = f"reply-id-{mention_id}"
    found = _connected(ctx, mention_id)
    if found is None:
        return
    draft_id = st.session_state.get(reply_key)
    with ctx.db.read() as session:
        draft = session.get(Reply, draft_id) if draft_id else None
        # A withdrawn draft is not sent again: the same text makes a new draft.
        same = (draft is not None and draft.body == text and draft.author == user.name
                and draft.state != ReplyState.CANCELLED.value)
    mention, connector = found
    if not same:
        try:
            replies.check_replyable(mention, connector, text)  # empty, unfilled or too long: nothing is drafted
            draft_id = replies.draft_reply(ctx.db, mention_id, text, user).id
        except MentiondeskError as exc:
            _outcome(mention_id, "error", str(exc))
            return
        # One draft per text: a second click, a rerun or a retry sends this same reply, never a new one. A new
        # text replaces the user's earlier draft (draft_reply cancels it), so only this one can be approved.
        st.session_state[reply_key] = draft_id
    _post(ctx, user, mention_id, draft_id, connector)


def _connected(ctx: AppContext, mention_id: int) -> tuple[Mention, Connector] | None:
    """The mention and its platform's connector; None, with the reason shown, where there is none."""
    with ctx.db.read() as session:
        mention = session.get(Mention, mention_id)
    connector = ctx.connector(mention.platform) if mention else None
    if mention is None or connector is None:
        _outcome(mention_id, "error", "This mention's platform is not connected.")
        return None
    return mention, connector


def _send(ctx: AppContext, mention_id: int, reply_id: int) -> None:
    user = acting_user(ctx, Role.AGENT, "sending a reply")
    if user is None:
        return
    found = _connected(ctx, mention_id)
    if found is None:
        return
    with ctx.db.read() as session:
        check_in_id = replies.check_in_of(session, reply_id)
    if check_in_id is None:
        _post(ctx, user, mention_id, reply_id, found[1])
        return
    # A check-in's reply goes out as the Incidents page sends it: knowingly following up the reply it
    # checks in on, which a plain send would refuse as a collision.
    try:
        reply = send_check_in(ctx, user, mention_id, check_in_id, found[1])
    except MentiondeskError as exc:
        _outcome(mention_id, "error", str(exc))
        return
    if reply is not None:
        _report(mention_id, reply)


def send_check_in(ctx: AppContext, user: Principal, mention_id: int, check_in_id: int,
                  connector: Connector) -> Reply | None:
    """Approve and send a due check-in, as a follow-up to the reply the user said they read in the
    :func:`collision_notice`; None where a reply they have not read refuses it (the notice then names it).
    Raises what else refuses it, :class:`monitor.followups.AskedAlready` included."""
    try:
        reply = followups.approve_check_in(ctx.db, check_in_id, connector, user,
                                           follow_up_of=st.session_state.get(_ack_key(mention_id)))
    except followups.AskedAlready:
        raise  # no reading sends it: the caller shows why, so that it is cancelled
    except ReplyCollision as exc:
        _refused(mention_id, exc)
        return None
    if reply.state != ReplyState.FAILED.value:  # it answers the mention now: the reply read is not the newest
        _forget_collision(mention_id)
    return reply


def _post(ctx: AppContext, user: Principal, mention_id: int, reply_id: int, connector: Connector) -> None:
    try:
        reply = presence.send_reply_once(ctx.db, reply_id, connector, user,
                                         follow_up_of=st.session_state.get(_ack_key(mention_id)))
    except ReplyCollision as exc:
        _refused(mention_id, exc)
        return
    except replies.ReplyWithdrawn as exc:
        _outcome(mention_id, "error", str(exc))
        return
    except ReplyStateError:
        _outcome(mention_id, "info", "This reply was already sent (or is being sent); it is not posted again.")
        return
    except MentiondeskError as exc:
        _outcome(mention_id, "error", str(exc))
        return
    _report(mention_id, reply)


def _report(mention_id: int, reply: Reply) -> None:
    """Say how a send ended. The reply box empties only when the reply sent is its own draft: a retried
    older reply, or a teammate's approved one, leaves the text being typed (and what it follows up)."""
    if reply.state == ReplyState.SENT.value:
        text_key, reply_key = f"reply-text-{mention_id}", f"reply-id-{mention_id}"
        if st.session_state.get(reply_key) == reply.id and st.session_state.get(text_key) == reply.body:
            st.session_state[text_key] = ""
            st.session_state.pop(reply_key, None)
            _forget_collision(mention_id)
        _outcome(mention_id, "success", "Reply posted.")
    elif reply.state == ReplyState.FAILED.value:
        _outcome(mention_id, "error", f"Not posted: {reply.error}. It is kept below and can be retried.")
    else:
        _outcome(mention_id, "warning", reply.error or "Delivery unknown: check the platform before retrying.")


def _outcome(mention_id: int, kind: str, message: str) -> None:
    st.session_state[f"reply-outcome-{mention_id}"] = (kind, message)


def _show_outcome(mention_id: int) -> None:
    kind, message = st.session_state.pop(f"reply-outcome-{mention_id}", (None, ""))
    if kind:
        # Messages carry platform errors and names: shown as typed, never read as Markdown.
        {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[kind](md_escape(message))


def _ack_key(mention_id: int) -> str:
    """Where the reply the user read (a refused send named it) is kept: their next send follows it up."""
    return f"reply-ack-{mention_id}"


def _collision_key(mention_id: int) -> str:
    return f"collision-{mention_id}"


def _refused(mention_id: int, exc: ReplyCollision) -> None:
    st.session_state[_collision_key(mention_id)] = (str(exc), exc.other_reply_id)


def _forget_collision(mention_id: int) -> None:
    for key in (_ack_key(mention_id), _collision_key(mention_id)):
        st.session_state.pop(key, None)


def collision_notice(mention_id: int, db: Database | None = None) -> None:
    """After a refused send: say who replied, and let the user knowingly send a follow-up. A page that
    does not list the mention's replies passes ``db``: the reply is shown here, to be read."""
    seen = st.session_state.get(_collision_key(mention_id))
    if not seen:
        return
    message, other_id = seen
    st.error(f"Not sent: {md_escape(message)}. Their reply is shown below.")
    if db is not None:
        with db.read() as session:
            other = session.get(Reply, other_id)
        if other is not None:
            st.caption(f"Reply by {md_escape(other.author)} · {other.state}")
            st.html(text_box(other.body, "md-reply"))
    # One box per reply read: a tick given for one reply never acknowledges a newer one refused
    # later (nor does a double click's second half, which still carries the old tick).
    if st.checkbox("I have read it; send mine as a follow-up", key=f"ack-box-{mention_id}-{other_id}"):
        st.session_state[_ack_key(mention_id)] = other_id
    else:
        st.session_state.pop(_ack_key(mention_id), None)
