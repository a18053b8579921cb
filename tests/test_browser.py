"""End to end in a real headless Chromium: the dashboard on the X emulator's stream.

Needs Debian's chromium at /usr/bin/chromium and the playwright package (never `playwright install`).
Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
                allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright: pip install playwright")
tomli_w = pytest.importorskip("tomli_w")

from sqlalchemy import select  # noqa: E402

from connectors.emulators import DEMO_X_HANDLE, RunningEmulators, demo_connector_settings, start_emulators  # noqa: E402
from dashboard import launch  # noqa: E402
from monitor.config import Config  # noqa: E402
from monitor.models import Mention, Reply  # noqa: E402
from monitor.poller import poll_once  # noqa: E402
from monitor.storage import Database  # noqa: E402
from tests.emulator_fixtures import BACKLOG_END  # noqa: E402
from tests.test_dashboard import HOSTILE  # noqa: E402
from monitor.access import Role  # noqa: E402
from tests.test_dashboard_fixtures import PASSWORD, add_mention, add_user, browser_sign_in  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 20_000


@dataclass
class Stack:
    emulators: RunningEmulators
    db: Database
    url: str
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("browser")
    with start_emulators(seed=7, backlog=20, backlog_end=BACKLOG_END) as running:
        settings = demo_connector_settings(running)
        config_path = home / "mentiondesk.toml"
        config_path.write_text(tomli_w.dumps({
            "database": {"url": f"sqlite:///{home / 'dash.db'}"},
            "brands": [settings["brand"]],
            "connectors": {"x": {**settings["connectors"]["x"], "first_run_pages": 5}},
        }), encoding="utf-8")
        env = {**settings["env"], "MENTIONDESK_HOME": str(home)}
        config = Config.load(config_path, env={**os.environ, **env})
        db = Database.open(config.database_url)
        db.upgrade()
        for name in ("ana", "ben"):
            add_user(db, name, Role.AGENT)
        port = _free_port()
        server = launch(config_path, port, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{url}/_stcore/health", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.3)
            yield Stack(running, db, url, {**os.environ, **env})
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
            db.dispose()


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _post_and_poll(stack: Stack, text: str) -> int:
    """Publish an X post @mentioning the brand, poll it in, and return its mention id."""
    tweet_id = stack.emulators.x.add_post(text, username="late_parcel")
    config = Config.load(_config_path(stack), env=stack.env)
    reports = poll_once(stack.db, config)
    assert not [r.error for r in reports if r.error]
    with stack.db.read() as session:
        mention_id = session.scalar(select(Mention.id).where(Mention.platform == "x", Mention.external_id == tweet_id))
    assert mention_id is not None
    return mention_id


def _config_path(stack: Stack) -> Path:
    return Path(stack.env["MENTIONDESK_HOME"]) / "mentiondesk.toml"


def _new_page(browser: object) -> object:
    page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(TIMEOUT_MS)
    return page


def _page(browser: object, stack: Stack, user: str) -> object:
    page = _new_page(browser)
    page.goto(stack.url)
    browser_sign_in(page, user)
    page.locator(".st-key-bulk").wait_for()  # an agent's bulk actions
    _wait_idle(page)  # mid-rerun, a stale copy of each widget is still on the page beside the new one
    return page


def _wait_idle(page: object) -> None:
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")  # type: ignore[attr-defined]


def _open(page: object, mention_id: int) -> None:
    """Open a mention's detail and let the rerun finish: until it has, a widget that moved is on the
    page twice (the stale copy and the new one), and acting on it fails as ambiguous (seen with both
    cores busy)."""
    page.locator(f".st-key-open-{mention_id} button").click()  # type: ignore[attr-defined]
    _wait_idle(page)


def test_filter_assign_and_reply_to_an_x_mention(stack: Stack, browser: object) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    m = _post_and_poll(stack, f"@{DEMO_X_HANDLE} my parcel 7731 is two weeks late, any news?")
    page = _page(browser, stack, "ana")
    search = page.get_by_label("Search text or author")
    search.fill("parcel 7731")
    search.press("Enter")
    _wait_idle(page)
    playwright_api.expect(page.locator(".md-mention")).to_have_count(1)  # retries while the rerun lands
    page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)
    _open(page, m)
    page.locator(f".st-key-assign-me-{m} button").click()
    page.get_by_text("assigned to you: 1 mention(s)").wait_for()
    _wait_idle(page)
    reply = "Sorry about parcel 7731, we are on it. Details: https://help.example.com/track?id=7731"
    box = page.locator(f".st-key-reply-text-{m} textarea")
    box.fill(reply)
    box.press("Tab")
    # The count for the typed text (not the empty box's, which may linger while the rerun lands).
    page.get_by_text(re.compile(r"^[1-9]\d* / 280 X-weighted characters \(URLs count 23\)$")).wait_for()
    _wait_idle(page)  # then Send is on the page once (a click during the rerun met two)
    page.locator(f".st-key-send-{m} button").click()
    page.get_by_text("Reply posted.").wait_for()
    page.locator(".md-reply").wait_for()
    assert box.input_value() == ""
    page.screenshot(path=str(ARTIFACTS / "reply.png"), full_page=True)
    with stack.db.read() as session:
        mention = session.get(Mention, m)
        assert mention is not None and mention.assignee == "ana"
        tweet_id = mention.external_id
    assert [r["text"] for r in stack.emulators.x.replies_to(tweet_id)] == [reply]


def test_send_clicked_straight_after_typing_posts_the_typed_reply(stack: Stack, browser: object) -> None:
    # What an agent does: type, then click Send at once. The box hands its text over only as it
    # loses focus (that click), so the page is still drawn from before the typing when the click lands.
    m = _post_and_poll(stack, f"@{DEMO_X_HANDLE} charged twice for order 5120")
    page = _page(browser, stack, "ben")
    _open(page, m)
    page.locator(f".st-key-reply-text-{m} textarea").fill("Sorry! The second charge for 5120 is refunded today.")
    # force: no waiting for the button to look clickable, as a person does not wait either.
    page.locator(f".st-key-send-{m} button").click(force=True)
    page.get_by_text("Reply posted.").wait_for()
    with stack.db.read() as session:
        tweet_id = session.get(Mention, m).external_id  # type: ignore[union-attr]
    assert [r["text"] for r in stack.emulators.x.replies_to(tweet_id)] == [
        "Sorry! The second charge for 5120 is refunded today."]


def test_tag_clicked_straight_after_typing_tags_the_mention(stack: Stack, browser: object) -> None:
    # As with Send: the tag box hands its text over only as it loses focus, which is that very click.
    m = add_mention(stack.db, platform="x", text="my parcel is late again", priority=100.0, external_id="tag-at-once")
    page = _page(browser, stack, "ana")
    _open(page, m)
    page.locator(f".st-key-tag-{m} input").fill("late-delivery")
    page.locator(f".st-key-add-tag-{m} button").click(force=True)  # force: a person does not wait either
    page.get_by_text("tagged late-delivery: 1 mention(s)").wait_for()
    _wait_idle(page)
    page.locator(f".st-key-sel-{m} input").check(force=True)
    page.get_by_text("1 selected", exact=True).wait_for()  # the rerun that took the tick has landed
    _wait_idle(page)
    page.locator(".st-key-bulk-tag input").fill("escalated")
    page.locator(".st-key-bulk-add-tag button").click(force=True)
    page.get_by_text("tagged escalated: 1 mention(s)").wait_for()
    with stack.db.read() as session:
        tags = sorted(t.tag for t in session.get(Mention, m).tags)  # type: ignore[union-attr]
    assert tags == ["escalated", "late-delivery"]


def test_two_browser_sessions_replying_at_once_post_exactly_once(stack: Stack, browser: object) -> None:
    m = _post_and_poll(stack, f"@{DEMO_X_HANDLE} app keeps crashing on login, help")
    pages = {who: _page(browser, stack, who) for who in ("ana", "ben")}
    for who, page in pages.items():
        _open(page, m)
        box = page.locator(f".st-key-reply-text-{m} textarea")
        box.fill(f"{who} here: please try version 2.1")
        box.press("Tab")
        # Click Send only once the rerun that took the text has drawn its preview: on a busy machine
        # that rerun can start after _wait_idle has looked, and a click on a page mid-rerun is dropped.
        playwright_api.expect(page.locator(".md-preview")).to_contain_text(f"{who} here", timeout=TIMEOUT_MS)
        _wait_idle(page)
    # Playwright's sync API is single-threaded: dispatch both clicks before waiting for either.
    for page in pages.values():
        page.evaluate(f"document.querySelector('.st-key-send-{m} button').click()")
    # Each page ends with its outcome: one posted, the other told someone else replied (or is replying).
    notice = re.compile("already replied|sending a reply right now")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        winner = [p for p in pages.values() if p.get_by_text("Reply posted.").count()]
        loser = [p for p in pages.values() if p.get_by_text(notice).count()]
        if winner and loser:
            break
        time.sleep(0.2)
    assert len(winner) == 1 and len(loser) == 1 and winner != loser
    with stack.db.read() as session:
        tweet_id = session.get(Mention, m).external_id  # type: ignore[union-attr]
        states = sorted(r.state for r in session.scalars(select(Reply).where(Reply.mention_id == m)))
    posted = stack.emulators.x.replies_to(tweet_id)
    assert len(posted) == 1, posted
    assert states.count("sent") == 1
    loser[0].screenshot(path=str(ARTIFACTS / "collision.png"), full_page=True)


def test_hostile_text_stays_text_in_the_browser(stack: Stack, browser: object) -> None:
    m = add_mention(stack.db, platform="x", text=HOSTILE, author_name="<b>Eve</b>", url="javascript:alert(1)",
                    priority=100.0, external_id="hostile-1")
    page = _page(browser, stack, "ana")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _open(page, m)
    detail = page.locator(f'.md-mention[data-mention-id="{m}"] .md-detail-text')
    shown = detail.inner_text()
    assert shown.startswith("<script>alert('x')</script> **bold** [click](javascript:alert(1))")
    assert shown.count("A") >= 10_000
    assert detail.locator("script, img, a, b").count() == 0
    assert page.locator('a[href^="javascript"]').count() == 0
    assert dialogs == []
    page.screenshot(path=str(ARTIFACTS / "hostile.png"), full_page=True)


def test_a_signed_out_browser_sees_only_the_sign_in_page(stack: Stack, browser: object) -> None:
    m = add_mention(stack.db, platform="x", text="private customer message 5512", priority=100.0,
                    external_id="private-1")
    for path in ("", "/sla", "/activity", "/analytics", f"/?mention={m}"):
        page = _new_page(browser)
        page.goto(stack.url + path)
        page.get_by_role("button", name="Sign in").wait_for()
        _wait_idle(page)
        body = page.locator("body").inner_text()
        assert "private customer message 5512" not in body, path
        assert page.get_by_role("link", name="Queue").count() == 0 and page.get_by_text("Analytics").count() == 0
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        page.context.close()
    # A wrong password says so and still shows nothing else; the right one opens the queue.
    page = _new_page(browser)
    page.goto(stack.url + "/alerts")
    page.get_by_label("User name").fill("ana")
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("wrong user name or password").wait_for()
    assert "private customer message 5512" not in page.locator("body").inner_text()
    page.screenshot(path=str(ARTIFACTS / "sign-in.png"), full_page=True)
    page.get_by_role("textbox", name="User name").fill("ana")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Alerts").wait_for()  # back on the page the URL asked for
    page.get_by_role("link", name="Queue").click()
    page.get_by_text("private customer message 5512").wait_for()
    page.context.close()
