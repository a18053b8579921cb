"""`mentiondesk incidents …` and `mentiondesk followups run`, as the local operator (see monitor.access)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from monitor import followups, incidents
from monitor.access import local_operator
from monitor.cli_types import DatabaseId, Seconds
from monitor.models import Incident
from monitor.text import terminal_author, terminal_safe

if TYPE_CHECKING:
    from monitor.cli import App

ID = DatabaseId(Incident.id, "incident")


def _line(view: incidents.IncidentView) -> str:
    languages = ", ".join(f"{lang} {n}" for lang, n in view.languages.items())
    terms = ", ".join(view.terms)
    merged = f" (into #{view.merged_into})" if view.merged_into is not None else ""
    return (f"#{view.id} {view.status:<8}{merged} {terminal_safe(view.brand, 60)}: {view.mention_count} mentions, reach "
            f"{view.reach:,}, first seen {view.first_seen_at:%Y-%m-%d %H:%M} UTC; {languages}; "
            f"terms: {terminal_safe(terms, 120)}")


@click.group("incidents")
def incidents_group() -> None:
    """Related complaints grouped across languages and platforms: list, show, reply to all, merge, resolve."""


@incidents_group.command("detect")
@click.pass_obj
def incidents_detect(app: "App") -> None:
    """Group recent complaints now (the worker does this after every classification batch)."""
    result = incidents.IncidentDetector(app.database(), app.config.incidents, app.config.alert_targets).run()
    click.echo(f"opened {len(result.opened)} incident(s); {sum(result.joined.values())} mention(s) joined open ones")


@incidents_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Resolved incidents too.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def incidents_list(app: "App", everything: bool, as_json: bool) -> None:
    """Every open incident (--all: every incident), newest first."""
    views = incidents.list_incidents(app.database(), None if everything else "open")
    if as_json:
        click.echo(json.dumps([{"id": v.id, "brand": v.brand, "status": v.status, "mentions": v.mention_count,
                                "reach": v.reach, "first_seen": v.first_seen_at.isoformat(), "terms": v.terms,
                                "languages": v.languages, "platforms": v.platforms, "replies_sent": v.replies_sent,
                                "merged_into": v.merged_into}
                               for v in views], ensure_ascii=False))
        return
    for view in views:
        click.echo(_line(view))
    if not views:
        click.echo("no incidents" if everything else "no open incidents")


@incidents_group.command("show")
@click.argument("incident_id", type=ID)
@click.pass_obj
def incidents_show(app: "App", incident_id: int) -> None:
    db = app.database()
    click.echo(_line(incidents.get_incident(db, incident_id)))
    for m in incidents.incident_mentions(db, incident_id):
        click.echo(f"  {m.id:>8} {terminal_safe(m.platform):<9} {m.lang or '?':<3} "
                   f"{terminal_author(m.author_handle, 40)}: {terminal_safe(m.text, 100)}")


@incidents_group.command("reply")
@click.argument("incident_id", type=ID)
@click.option("--template", "template_name", required=True, help="The reply template's name ([[reply_templates]]).")
@click.option("--max-wait", type=Seconds(min=0), default=120, show_default=True,
              help="Wait out platforms' rate limits up to this many seconds in all; longer: stop, run again later.")
@click.pass_obj
def incidents_reply(app: "App", incident_id: int, template_name: str, max_wait: float) -> None:
    """Send the template to every affected mention that can be answered, once each. Safe to run again."""
    db, config = app.database(), app.config
    view = incidents.get_incident(db, incident_id)
    connectors = {name: cc.create() for name, cc in config.connectors.items() if cc.settings.enabled}
    try:
        report = incidents.bulk_reply(db, incident_id, template_name, config.dashboard.templates, connectors,
                                      local_operator(), view.brand, max_wait_seconds=max_wait)
    finally:
        for connector in connectors.values():
            connector.close()
    click.echo(f"sent {len(report.sent)}, sent before {len(report.already_sent)}, skipped {len(report.skipped)}, "
               f"failed {len(report.failed)}, to check {len(report.unknown)}")
    for what, items in (("skipped", report.skipped), ("failed", report.failed), ("check on the platform", report.unknown)):
        for mention_id, why in items.items():
            click.echo(f"  mention {mention_id} {what}: {terminal_safe(why, 200)}")
    if report.waiting_until is not None:
        click.echo(f"rate limited: run again after {report.waiting_until:%Y-%m-%d %H:%M:%S} UTC")
    if not report.complete:
        raise SystemExit(1)


@incidents_group.command("merge")
@click.argument("incident_id", type=ID)
@click.option("--into", "into_id", type=ID, required=True, help="The open incident that takes its mentions.")
@click.pass_obj
def incidents_merge(app: "App", incident_id: int, into_id: int) -> None:
    """Move an incident's mentions into another about the same problem (detection opened it twice)."""
    moved = incidents.merge_incident(app.database(), incident_id, into_id, local_operator())
    click.echo(f"incident {incident_id} merged into incident {into_id}: {moved} mention(s) moved")


@incidents_group.command("resolve")
@click.argument("incident_id", type=ID)
@click.option("--keep-mentions", is_flag=True, help="Leave its mentions' statuses as they are.")
@click.pass_obj
def incidents_resolve(app: "App", incident_id: int, keep_mentions: bool) -> None:
    resolved = incidents.resolve_incident(app.database(), incident_id, local_operator(), not keep_mentions)
    click.echo(f"incident {incident_id} resolved; {len(resolved)} mention(s) resolved with it")


@click.group("followups")
def followups_group() -> None:
    """Follow-up dates and check-ins (the worker runs these once a minute)."""


@followups_group.command("run")
@click.pass_obj
def followups_run(app: "App") -> None:
    """Reopen mentions whose follow-up date passed; mark check-ins that came due for approval."""
    due = followups.run_due(app.database())
    click.echo(f"reopened {len(due.reopened)} mention(s); {len(due.check_ins_due)} check-in(s) now wait for approval")
