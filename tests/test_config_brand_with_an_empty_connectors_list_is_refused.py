"""`connectors = []` on a brand searched it on no platform at all, without a word; it is refused."""

from __future__ import annotations

import pytest

from monitor.config import Config
from monitor.errors import ConfigError


def test_an_empty_connectors_list_is_refused_with_what_to_write() -> None:
    data = {"brands": [{"name": "Acme", "keywords": ["acme"], "connectors": []}], "connectors": {"sample": {}}}
    with pytest.raises(ConfigError, match=r"brands\[0\]\.connectors: .*an empty list searches this brand nowhere; "
                                          "name its connectors, or leave connectors out"):
        Config.from_dict(data, env={})


@pytest.mark.parametrize("connectors", [{"connectors": ["sample"]}, {}])
def test_a_brand_naming_connectors_or_leaving_them_out_still_loads(connectors: dict) -> None:
    brand = {"name": "Acme", "keywords": ["acme"], **connectors}
    assert Config.from_dict({"brands": [brand], "connectors": {"sample": {}}}, env={}).queries_for("sample")
