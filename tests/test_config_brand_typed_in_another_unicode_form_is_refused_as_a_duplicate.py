"""Two brands whose names read the same, typed in another Unicode form ("Café" with a combining accent, as macOS and
some copy/paste give it) or case ("Straße", "STRASSE"), are refused as one brand: their keys differed, so both loaded,
and `--brand` or an [alerts.brands] table reached only one. Keys stay as they were: databases hold them."""

from __future__ import annotations

import unicodedata

import pytest

from monitor.config import Config, brand_key
from monitor.errors import ConfigError

NFC = "Café Nero"
NFD = unicodedata.normalize("NFD", NFC)


def _load(*names: str) -> Config:
    brands = [{"name": name, "keywords": [f"keyword {i}"]} for i, name in enumerate(names)]
    return Config.from_dict({"brands": brands, "connectors": {"sample": {}}}, env={}, source="test.toml")


@pytest.mark.parametrize(("first", "second"), [(NFC, NFD), (NFD, NFC), ("Straße", "STRASSE")])
def test_the_same_name_typed_another_way_is_refused_naming_both_brands(first: str, second: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load("Acme", first, second)
    assert str(info.value) == ("test.toml: invalid configuration:\n  brands: Value error, "
                               f"brands[1] ({first!r}) and brands[2] ({second!r}) are the same name typed differently "
                               "(in another Unicode form or case); keep one")


def test_each_form_alone_keeps_the_key_it_had() -> None:
    assert [b.key for b in _load(NFC).brands] == ["caf-nero"]
    assert [b.key for b in _load(NFD).brands] == ["cafe-nero"]
    assert brand_key(NFC) == "caf-nero" and brand_key(NFD) == "cafe-nero"


def test_brands_with_different_names_still_load() -> None:
    keys = [b.key for b in _load("Café Nero", "Caffè Nero", "Café Noir").brands]
    assert keys == ["caf-nero", "caff-nero", "caf-noir"]
