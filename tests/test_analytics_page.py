"""The analytics page: under AppTest (figures shown, exports) and in a real headless Chromium (screenshot)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from dashboard import launch  # noqa: E402
from monitor.models import utcnow  # noqa: E402
from monitor.storage import Database  # noqa: E402
from monitor.access import Role  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, add_user, browser_sign_in, signed_in_app  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Acme and a second own brand with a week of mentions; the hour-old one is unanswered."""
    db_path = tmp_path / "dash.db"
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n\n'
                      '[connectors.sample]\n', encoding="utf-8")
    monkeypatch.setenv("MENTIONDESK_CONFIG", str(config))
    db = Database.open(f"sqlite:///{db_path}")
    db.upgrade()
    acme = add_brand(db, "Acme")
    now = utcnow()
    for day in range(7):
        for n, (platform, label, intent, lang) in enumerate((("x", "negative", "complaint", "en"),
                                                             ("reddit", "positive", "praise", "es"),
                                                             ("x", "neutral", "question", "fr"))):
            created = now - timedelta(days=day, hours=2 + n)
            add_mention(db, brand_id=acme, platform=platform, created_at=created, sentiment_label=label, intent=intent,
                        lang=lang, priority=80.0, status="resolved", assignee=("ana", "ben")[n % 2],
                        first_response_at=created + timedelta(minutes=20 + 40 * n), author_followers=100 * (day + n),
                        text=f"<script>alert(1)</script> #delivery late parcel day {day} =1+1")
    add_mention(db, brand_id=acme, platform="x", created_at=now - timedelta(minutes=30), sentiment_label="negative",
                intent="complaint", priority=80.0, status="new", text="still no refund")
    db.dispose()
    yield config


def test_the_page_shows_the_figures(config_path: Path) -> None:
    db = Database.open(f"sqlite:///{config_path.parent / 'dash.db'}")
    at = signed_in_app(db, "vic", Role.VIEWER)
    db.dispose()
    at.switch_page("pages/analytics.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    # 22 mentions: 8 negative; 21 answered, 14 within the urgent hour (20 and 60 min; 100 min misses).
    assert metrics == {"Mentions": "22", "Negative": "36%", "SLA attainment": "67%", "Median first response": "60 min",
                       "Unanswered backlog": "1"}
    assert "<script>" not in "".join(m.body for m in at.markdown)
    agents = at.dataframe[2].value  # top authors, SLA by priority, SLA by agent
    assert list(agents["agent"]) == ["ana", "ben"]
    assert at.button(key="an-prepare-mentions").click().run().get("download_button")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_screenshot_in_a_real_browser(config_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    db = Database.open(f"sqlite:///{config_path.parent / 'dash.db'}")
    add_user(db, "vic", Role.VIEWER)
    db.dispose()
    server = launch(config_path, port)
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1500, "height": 4000}).new_page()
            page.set_default_timeout(30_000)
            deadline = time.monotonic() + 60
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}/")
                    break
                except playwright_api.Error:
                    assert server.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
                    time.sleep(0.5)
            browser_sign_in(page, "vic")
            page.get_by_role("link", name="Analytics").click()
            page.get_by_text("Model vs. people, per language").wait_for()
            page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
            page.wait_for_timeout(1500)  # let the charts draw
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
            assert page.locator("script:text('alert(1)')").count() == 0
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "analytics.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
