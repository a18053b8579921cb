"""Brand keys: names in any script, keys stored before kept, and [alerts] naming only brands that exist."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.ingest import sync_brands
from monitor.models import Brand, BrandQuery, Mention
from monitor.storage import Database

SAMPLE = {"sample": {}}
ALERT_URLS = {"MENTIONDESK_ALERT_ON_CALL_URL": "json://127.0.0.1:9/on-call"}


def load(data: dict, env: dict | None = None) -> Config:
    return Config.from_dict({"connectors": SAMPLE, **data}, env=env or {}, source="test.toml")


def _brands(*names: str) -> list[dict]:
    return [{"name": name, "keywords": [name]} for name in names]


def test_brands_named_in_other_scripts_each_have_their_own_key() -> None:
    # Every name without a-z or 0-9 was keyed "brand": two such brands were refused as one.
    config = load({"brands": _brands("Яндекс", "オービスト", "தமிழ் கடை", "ＡＢＣ")})
    assert [b.key for b in config.brands] == ["яндекс", "オービスト", "தமிழ்-கடை", "abc"]
    assert [q.key for q in config.queries_for("sample")] == ["яндекс", "オービスト", "தமிழ்-கடை", "abc"]


@pytest.mark.parametrize(("name", "key"), [("Acme Cloud", "acme-cloud"), ("Café Nero", "caf-nero"), ("ACME™", "acme"),
                                           ("Straße 42", "stra-e-42"), ("Brand", "brand"), ("★★★", "brand")])
def test_keys_of_names_with_latin_letters_or_digits_are_as_they_were(name: str, key: str) -> None:
    # Databases, exports and [alerts] tables hold these keys already.
    assert load({"brands": _brands(name)}).brands[0].key == key


def test_brands_whose_names_make_one_key_are_refused_naming_brands() -> None:
    with pytest.raises(ConfigError) as info:
        load({"brands": _brands("Яндекс", "ЯНДЕКС")})
    assert str(info.value) == ("test.toml: invalid configuration:\n"
                               "  brands: Value error, brands must have unique names "
                               "(compared by key: letters and digits, in lower case); repeated: яндекс")


def test_a_stored_brand_keyed_brand_keeps_its_row_and_mentions_under_its_new_key(database_url: str) -> None:
    # Without renaming it, the next start would have stored "Яндекс" again under its new key and left
    # its mentions, cursors and alerts with the old row.
    db = Database.open(database_url)
    db.upgrade("0015")
    at = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
    with db.write() as session:
        session.execute(sa.text("INSERT INTO brands (id, key, name, created_at, reply_approval) "
                                "VALUES (1, 'brand', 'Яндекс', :at, false)"), {"at": at})
        session.execute(sa.text("INSERT INTO brand_queries (id, brand_id, connector, key, definition, created_at) "
                                "VALUES (1, 1, 'sample', 'brand', '{}', :at)"), {"at": at})
        session.execute(sa.text("INSERT INTO mentions (id, brand_id, query_id, platform, external_id, text, "
                                "created_at, fetched_at, raw, replyable, status) "
                                "VALUES (1, 1, 1, 'sample', '1', 'яндекс', :at, :at, '{}', false, 'new')"), {"at": at})
    db.upgrade()
    config = load({"brands": _brands("Яндекс")})
    query_ids = sync_brands(db, config.brands, {"sample": config.queries_for("sample")})
    assert query_ids == {("sample", "яндекс"): 1}
    with db.read() as session:
        assert session.execute(sa.select(Brand.id, Brand.key)).all() == [(1, "яндекс")]
        assert session.execute(sa.select(BrandQuery.id, BrandQuery.key)).all() == [(1, "яндекс")]
        assert session.execute(sa.select(Mention.brand_id, Mention.query_id)).all() == [(1, 1)]
    db.dispose()


@pytest.mark.parametrize(("alerts", "where"), [
    ({"targets": [{"name": "on-call", "brands": ["Acme Cloud"]}]}, "alerts.targets[0].brands: 'Acme Cloud'"),
    ({"brands": {"acme_cloud": {"urgent": {"keywords": ["recall"]}}}}, "alerts.brands.acme_cloud: 'acme_cloud'"),
])
def test_alert_settings_for_a_brand_key_no_brand_has_are_refused_listing_the_keys(alerts: dict, where: str) -> None:
    # Accepted silently: the target never got an alert, the override never applied.
    with pytest.raises(ConfigError) as info:
        load({"brands": _brands("Acme Cloud", "Orbisto"), "alerts": alerts}, env=ALERT_URLS)
    assert str(info.value) == f"test.toml: {where} is not a brand key; the brands' keys are acme-cloud, orbisto"


def test_alert_settings_for_configured_brand_keys_are_accepted() -> None:
    config = load({"brands": _brands("Acme Cloud", "Яндекс"),
                   "alerts": {"targets": [{"name": "on-call", "brands": ["acme-cloud", "яндекс"]}],
                              "brands": {"яндекс": {"urgent": {"keywords": ["отзыв"]}}}}}, env=ALERT_URLS)
    assert config.alerts.rules_for("яндекс").urgent.keywords == ["отзыв"]
