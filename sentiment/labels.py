"""The three sentiment labels, in the order every model output uses."""

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
LABEL_INDEX: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
