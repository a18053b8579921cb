"""The figures `mentiondesk evaluate`, training and the benchmarks report."""
from sentiment.metrics import score


def test_macro_figures_average_over_the_labels_that_occur() -> None:
    # All three labels occur: always "positive" recalls 1 of 3 labels.
    every = score(["positive", "negative", "neutral", "positive"], ["positive"] * 4)
    assert (every.accuracy, round(every.macro_recall, 4), round(every.macro_f1, 4)) == (0.5, 0.3333, 0.2222)
    # Only praise in the sample, all of it found: perfect, not a third.
    praise = score(["positive", "positive"], ["positive", "positive"])
    assert (praise.macro_recall, praise.macro_f1) == (1.0, 1.0)
    # A label predicted but never in gold still counts, as a miss.
    wrong = score(["positive", "positive"], ["positive", "negative"])
    assert (wrong.macro_recall, round(wrong.macro_f1, 4)) == (0.25, 0.3333)
    assert score([], []).n == 0
