"""Verifies webhook deliveries with the independent `standardwebhooks` package (PyPI).

Usage: verify.py SECRET < deliveries.json, where deliveries.json is a list of
{"headers": {name: value}, "body": "<raw body>"}. Exits 0 if every delivery verifies with
SECRET (a `whsec_` secret), 1 naming the first that does not.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook


def main() -> int:
    secret = sys.argv[1]
    deliveries = json.load(sys.stdin)
    hook = Webhook(secret)
    for i, delivery in enumerate(deliveries):
        try:
            payload = hook.verify(delivery["body"], delivery["headers"])
        except Exception as err:  # the library's WebhookVerificationError and friends
            print(f"delivery {i} does not verify: {err!r}", file=sys.stderr)
            return 1
        if not isinstance(payload, dict) or "type" not in payload:
            print(f"delivery {i}: not an event: {payload!r}", file=sys.stderr)
            return 1
    print(f"{len(deliveries)} verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
