"""``python -m connectors.emulators``: run both emulators until Ctrl-C and print how to use them."""

from __future__ import annotations

import argparse
import json
import threading

from connectors.emulators import demo_connector_settings, start_emulators


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the local X and Reddit API emulators.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--backlog", type=int, default=120, help="posts per platform at start")
    parser.add_argument("--live-every", type=float, default=10.0, help="seconds between new posts (0: none)")
    args = parser.parse_args()
    with start_emulators(args.seed, args.host, backlog=args.backlog, live_posts_every=args.live_every or None) as running:
        print(f"X API v2 emulator:  {running.x_url}")
        print(f"Reddit emulator:    {running.reddit_url}")
        print("Settings and secrets for mentiondesk:")
        print(json.dumps(demo_connector_settings(running), indent=2, ensure_ascii=False))
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped")


if __name__ == "__main__":
    main()
