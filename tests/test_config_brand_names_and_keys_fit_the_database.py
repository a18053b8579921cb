"""A brand name, and the key made of it, as long as the database holds: refused at load when longer, where
PostgreSQL failed every poll ("value too long for type character varying(100)") and SQLite took it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.ingest import sync_brands
from monitor.models import Brand, BrandQuery
from monitor.storage import Database


def load(name: str) -> Config:
    return Config.from_dict({"connectors": {"sample": {}}, "brands": [{"name": "Orbisto", "keywords": ["orbisto"]},
                                                                     {"name": name, "keywords": ["acme"]}]},
                            env={}, source="test.toml")


@pytest.mark.parametrize(("name", "why"), [
    ("Acme Corporation " * 9, "Value error, the brand's key, 'acme-corporation-acme-corporation-acme-c'…, "
                              "would be 152 characters long, over 100: shorten the name"),
    ("Ж" * 101, f"Value error, the brand's key, {'ж' * 40!r}…, would be 101 characters long, over 100: "
                "shorten the name"),
    ("A" * 201, "String should have at most 200 characters"),
])
def test_a_brand_whose_name_or_key_is_too_long_is_refused_naming_it(name: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(name)
    assert str(info.value) == f"test.toml: invalid configuration:\n  brands[1].name: {why}"


def test_the_longest_name_and_key_are_stored_on_either_database(database_url: str) -> None:
    name = "A" * 100 + "!" * 100  # a 200-character name whose key is "a" 100 times
    config = load(name)
    db = Database.open(database_url)
    db.upgrade()
    sync_brands(db, config.brands, {"sample": config.queries_for("sample")})
    with db.read() as session:
        assert session.execute(sa.select(Brand.name, Brand.key).where(Brand.key != "orbisto")).all() == [
            (name, "a" * 100)]
        assert set(session.scalars(sa.select(BrandQuery.key))) == {"orbisto", "a" * 100}
    db.dispose()
