"""Reply suggestions on labelled mention → template pairs.

    .venv/bin/python bench/suggestions.py

tests/data/suggestion_pairs.json holds 12 reply templates (English text, a few with a Spanish or
French variant, three English example mentions each) and 120 mentions in nine languages (English,
Spanish, French, Portuguese, German, Hindi, Indonesian, Tamil, Arabic), each labelled with the
template that answers it. Each mention is stored and ranked by ``monitor.suggestions.suggest``
(its embedding from the classifier, the templates' from ``sentiment.embed``); prints top-1 and
top-3 accuracy overall and per language, against a baseline that ranks templates by shared words.
Goal: the right template in the top three for at least 80% of mentions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[0] = str(REPO)  # not bench/, whose queue.py would shadow the stdlib module

from monitor.models import Brand, Mention  # noqa: E402
from monitor.storage import Database  # noqa: E402
from monitor.suggestions import suggest  # noqa: E402
from monitor.templates import ReplyTemplate  # noqa: E402

DATA = REPO / "tests" / "data" / "suggestion_pairs.json"


def load_templates(data: dict) -> list[ReplyTemplate]:
    templates = []
    for t in data["templates"]:
        templates.append(ReplyTemplate(t["name"], t["body"], examples=tuple(t["examples"])))
        templates += [ReplyTemplate(t["name"], body, lang=lang) for lang, body in t.get("variants", {}).items()]
    return templates


def word_overlap_rank(text: str, templates: list[ReplyTemplate]) -> list[str]:
    """Baseline: templates by the number of words their examples and text share with the mention."""
    words = set(re.findall(r"\w+", text.lower()))
    scores: dict[str, int] = defaultdict(int)
    for t in templates:
        vocabulary = set(re.findall(r"\w+", " ".join((t.body, *t.examples)).lower()))
        scores[t.name] = max(scores[t.name], len(words & vocabulary))
    return sorted(scores, key=lambda name: -scores[name])


def main() -> None:
    # No options, but --help says what the bench does rather than running it, as the other benches' do.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()

    from monitor.classify import MentionClassifier
    from sentiment import load_classifier
    from sentiment.triage import TriageRules

    data = json.loads(DATA.read_text(encoding="utf-8"))
    templates, pairs = load_templates(data), data["pairs"]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        with db.write() as session:
            brand = Brand(key="orbisto", name="Orbisto")
            session.add(brand)
            session.flush()
            mentions = [Mention(brand_id=brand.id, platform="x", external_id=str(i), text=p["text"], lang=p["lang"],
                                created_at=datetime.now(timezone.utc), author_handle=f"user{i}", replyable=True, raw={})
                        for i, p in enumerate(pairs)]
            session.add_all(mentions)
            session.flush()
            ids = [m.id for m in mentions]
        # The real path: classification stores the embeddings of negative mentions; the rest are computed.
        MentionClassifier(load_classifier(), TriageRules()).classify_pending(db)
        setup = time.perf_counter() - t0
        t1 = time.perf_counter()
        ranked = [[s.template for s in suggest(db, mention_id, templates, limit=3)] for mention_id in ids]
        per_mention_ms = (time.perf_counter() - t1) / len(ids) * 1000
    by_lang: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for pair, top in zip(pairs, ranked, strict=True):
        baseline = word_overlap_rank(pair["text"], templates)[:3]
        by_lang[pair["lang"]].append((top[:1] == [pair["template"]], pair["template"] in top, pair["template"] in baseline))
    rows = [(lang, results) for lang, results in sorted(by_lang.items(), key=lambda kv: -len(kv[1]))]
    everything = [r for _, results in rows for r in results]
    print(f"{len(pairs)} mentions, {len({t.name for t in templates})} templates; setup {setup:.0f} s, "
          f"{per_mention_ms:.0f} ms per suggestion\n")
    print(f"{'language':<10} {'n':>4} {'top-1':>7} {'top-3':>7} {'baseline top-3':>15}")
    for lang, results in [*rows, ("all", everything)]:
        n = len(results)
        print(f"{lang:<10} {n:>4} {sum(r[0] for r in results) / n:>7.3f} {sum(r[1] for r in results) / n:>7.3f} "
              f"{sum(r[2] for r in results) / n:>15.3f}")
    top3 = sum(r[1] for r in everything) / len(everything)
    print(f"\ngoal (top-3 ≥ 0.80): {'met' if top3 >= 0.8 else 'NOT met'}")


if __name__ == "__main__":
    main()
