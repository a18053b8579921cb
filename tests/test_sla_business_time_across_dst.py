"""Business time across DST changes: moments in a repeated or skipped local hour, and span bounds that fall there.

A bound is the first moment the local clock shows that time (or a later one): in a repeated hour its first
occurrence, in a skipped hour the moment the clocks jumped.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from monitor import sla
from monitor.models import Mention
from monitor.sla import BusinessHours, SlaPolicy, SlaState, SlaStatus

UTC = timezone.utc
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
# New York: clocks go forward 02:00 -> 03:00 on 2025-03-09 (07:00 UTC), back 02:00 -> 01:00 on 2025-11-02 (06:00 UTC).
NEW_YORK = "America/New_York"


def _hours(zone: str, start: time, end: time, weekdays: tuple[int, ...] = EVERY_DAY) -> BusinessHours:
    return BusinessHours(timezone=zone, weekdays=weekdays, start=start, end=end)


def test_a_mention_in_the_repeated_hour_after_closing_gets_the_next_days_deadline() -> None:
    # Santiago goes back from 24:00 to 23:00 on Saturday 2025-04-05: 03:10 UTC is the second 23:10, after closing.
    hours = _hours("America/Santiago", time(8), time(23, 59))
    created = datetime(2025, 4, 6, 3, 10, tzinfo=UTC)
    due = sla.add_business_time(hours, created, timedelta(hours=1))
    assert due == datetime(2025, 4, 6, 13, 0, tzinfo=UTC)  # Sunday 09:00 local
    assert sla.business_elapsed(hours, created, due) == timedelta(hours=1)
    mention = Mention(created_at=created, first_response_at=None, priority=80.0)
    now = datetime(2025, 4, 6, 12, 30, tzinfo=UTC)  # Sunday 08:30: half of the hour is spent
    policy = SlaPolicy(business_hours=hours)
    assert sla.status(policy, mention, now) == SlaStatus(policy.tier_for(80.0), due, SlaState.ON_TRACK,
                                                         timedelta(minutes=30))


def test_subtracting_from_the_repeated_hour_counts_both_occurrences() -> None:
    hours = _hours(NEW_YORK, time(1), time(4))  # 01:00 EDT (05:00 UTC) to 04:00 EST (09:00 UTC) that day
    end = datetime(2025, 11, 2, 6, 0, tzinfo=UTC)  # the second 01:00
    assert sla.subtract_business_time(hours, end, timedelta(hours=1)) == datetime(2025, 11, 2, 5, 0, tzinfo=UTC)
    assert sla.business_elapsed(hours, datetime(2025, 11, 2, 4, 0, tzinfo=UTC), end) == timedelta(hours=1)


def test_a_closing_time_in_the_repeated_hour_is_its_first_occurrence() -> None:
    hours = _hours(NEW_YORK, time(0), time(1, 30))  # closes at 01:30 EDT, 05:30 UTC
    day = datetime(2025, 11, 2, 4, 0, tzinfo=UTC)
    assert sla.business_elapsed(hours, day, day + timedelta(days=1)) == timedelta(hours=1, minutes=30)
    second_1_10 = datetime(2025, 11, 2, 6, 10, tzinfo=UTC)  # closed: the office reopens at 00:00 EST on Monday
    assert sla.add_business_time(hours, second_1_10, timedelta(minutes=10)) == datetime(2025, 11, 3, 5, 10, tzinfo=UTC)
    assert sla.subtract_business_time(hours, second_1_10, timedelta(minutes=10)) == datetime(2025, 11, 2, 5, 20,
                                                                                             tzinfo=UTC)


def test_bounds_in_the_skipped_hour_are_the_moment_the_clocks_jumped() -> None:
    day = datetime(2025, 3, 9, 5, 0, tzinfo=UTC)  # midnight EST
    jump = datetime(2025, 3, 9, 7, 0, tzinfo=UTC)
    opens_in_the_gap = _hours(NEW_YORK, time(2, 30), time(4))  # 03:00 EDT to 04:00 EDT
    assert sla.add_business_time(opens_in_the_gap, day, timedelta(minutes=10)) == jump + timedelta(minutes=10)
    assert sla.business_elapsed(opens_in_the_gap, day, day + timedelta(days=1)) == timedelta(hours=1)
    ends_just_after = _hours(NEW_YORK, time(2, 30), time(3, 15))  # 03:00 to 03:15 EDT, not an inverted span
    assert sla.business_elapsed(ends_just_after, day, day + timedelta(days=1)) == timedelta(minutes=15)
    inside_the_gap = _hours(NEW_YORK, time(2, 10), time(2, 50))  # never open that day
    assert sla.business_elapsed(inside_the_gap, day, day + timedelta(days=1)) == timedelta()
    assert sla.add_business_time(inside_the_gap, day, timedelta(minutes=5)) == datetime(2025, 3, 10, 6, 15, tzinfo=UTC)


def test_a_repeat_over_midnight_belongs_to_the_day_already_begun() -> None:
    # St. John's went back from 00:01 NDT (02:31 UTC) to 23:01 NST on 2000-10-29: Sunday had begun at 02:30 UTC,
    # and 03:00 UTC reads Saturday 23:30 again.
    hours = _hours("America/St_Johns", time(0), time(6))
    sunday = datetime(2000, 10, 29, 2, 30, tzinfo=UTC)
    second_saturday_23_30 = datetime(2000, 10, 29, 3, 0, tzinfo=UTC)
    assert sla.business_elapsed(hours, sunday, second_saturday_23_30) == timedelta(minutes=30)
    assert sla.subtract_business_time(hours, second_saturday_23_30, timedelta(minutes=30)) == sunday
    assert sla.add_business_time(hours, sunday, timedelta(minutes=30)) == second_saturday_23_30


def _offset_changes(zone: ZoneInfo, year: int) -> list[datetime]:
    """Noon UTC on each day of ``year`` after which the zone's offset changed (within a day of the change)."""
    days = [datetime(year, 1, 1, 12, tzinfo=UTC) + timedelta(days=i) for i in range(366)]
    return [a for a, b in zip(days, days[1:]) if a.astimezone(zone).utcoffset() != b.astimezone(zone).utcoffset()]


def _open_at(hours: BusinessHours, moment: datetime) -> bool:
    return sla.business_elapsed(hours, moment, moment + timedelta(microseconds=1)) > timedelta()


def _open_just_before(hours: BusinessHours, moment: datetime) -> bool:
    return sla.business_elapsed(hours, moment - timedelta(microseconds=1), moment) > timedelta()


def test_add_and_subtract_agree_with_business_elapsed_around_dst_changes() -> None:
    rng = random.Random(43)
    zones = [("Europe/Paris", 2025), ("America/Santiago", 2025), ("Australia/Lord_Howe", 2025),
             ("America/St_Johns", 2025), ("America/St_Johns", 2005), ("Asia/Beirut", 2025), ("Africa/Cairo", 2025),
             ("America/Havana", 2025), (NEW_YORK, 2025), ("Pacific/Apia", 2011)]
    spans = [(time(0), time(23, 59)), (time(1), time(4)), (time(0, 30), time(3, 30)), (time(2, 10), time(2, 50)),
             (time(9), time(17))]
    amounts = [timedelta(minutes=m) for m in (1, 30, 60, 240, 1440)]
    checked = 0
    for name, year in zones:
        changes = _offset_changes(ZoneInfo(name), year)
        assert changes, name
        for start, end in spans:
            hours = _hours(name, start, end, weekdays=(0, 1, 2, 3, 4, 5) if start == time(9) else EVERY_DAY)
            for change in changes:
                for _ in range(12):
                    moment = change + timedelta(minutes=rng.randint(-36 * 60, 24 * 60))
                    amount = rng.choice(amounts)
                    due = sla.add_business_time(hours, moment, amount)
                    assert sla.business_elapsed(hours, moment, due) == amount, (name, start, moment, amount)
                    since = sla.subtract_business_time(hours, due, amount)
                    assert sla.business_elapsed(hours, since, due) == amount, (name, start, due, amount)
                    assert since == moment if _open_at(hours, moment) else since >= moment
                    back = sla.subtract_business_time(hours, moment, amount)
                    assert sla.business_elapsed(hours, back, moment) == amount, (name, start, moment, amount)
                    again = sla.add_business_time(hours, back, amount)
                    assert again == moment if _open_just_before(hours, moment) else again <= moment
                    checked += 1
    assert checked > 1000
