"""A process doing one piece of the app's work, to be killed by tests/faults (run with `python -m`).

`python -m tests.faults.worker dispatch BATCH_ID TO_SITE_ID` sends a batch through the rotation
service in one transaction, as the dispatch page does; the database comes from DATABASE_URL (the
development configuration reads it). It prints "working" when its transaction has begun and "done"
after the commit, so a test can kill it at a chosen moment.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Run the named work and return the exit status."""
    from app.db import transaction
    from app.extensions import db
    from app.factory import create_app

    app = create_app("development")
    kind, *args = argv
    with app.app_context():
        if kind == "dispatch":
            from rotation.models import Batch
            from rotation.services import shipments

            batch_id, to_site_id = int(args[0]), int(args[1])
            with transaction(db.session):
                print("working", flush=True)
                batch = db.session.get(Batch, batch_id)
                shipments.dispatch(db.session, batch, to_site_id=to_site_id, actor_id=None)
        else:
            raise SystemExit(f"unknown work {kind!r}")
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
