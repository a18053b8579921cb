"""Signed-in principals for service tests: the services refuse bare names."""

from monitor.access import Principal, Role

ANA = Principal("ana", Role.AGENT)
BEN = Principal("ben", Role.AGENT)
LEAD = Principal("lead", Role.AGENT)
VIEWER = Principal("vic", Role.VIEWER)
ADMIN = Principal("ada", Role.ADMIN)
BY_NAME = {p.name: p for p in (ANA, BEN, LEAD, VIEWER, ADMIN)}
