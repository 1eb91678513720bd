"""`python -m sandbox.vtiger --port N --access-key KEY`: serve a vtiger sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import threading

from .server import DEFAULT_ACCESS_KEY, VtigerSandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.vtiger", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    parser.add_argument("--profile", default="salesplatform-7.2", choices=["salesplatform-7.2", "vtiger-7"])
    parser.add_argument("--fb-url", action="store_true", help="add fb_url as on installs upgraded from 6.x")
    parser.add_argument("--messengers", action="store_true", help="the module's Telegram and MAX fields")
    args = parser.parse_args(argv)
    crm = VtigerSandbox(
        args.profile,
        access_key=args.access_key,
        fb_url=args.fb_url,
        messengers=args.messengers,
        port=args.port,
    )
    crm.start()
    print(f"vtiger sandbox ({args.profile}) at {crm.url}/webservice.php", flush=True)
    print(f"user: {crm.username}  access key: {crm.access_key}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        crm.stop()


if __name__ == "__main__":
    main()
