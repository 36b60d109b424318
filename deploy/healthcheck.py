"""The web container's health check (docker-compose.yml): GET /readyz, 0 when it answers 200.

    python deploy/healthcheck.py [URL]      (default http://127.0.0.1:8000/readyz)

Django answers only the hosts of DJANGO_ALLOWED_HOSTS (a request for 127.0.0.1 would be a 400
for ever), so the request names the first of them as its Host, as the proxy does; no internal
name has to be allowed. /readyz is exempt from the HTTPS redirect. Standard library only: it
starts in a fraction of Django's start-up time.
"""

import os
import sys
import urllib.request

DEFAULT_HOSTS = "127.0.0.1,localhost,testserver"  # config/settings.py's default


def allowed_host() -> str:
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", DEFAULT_HOSTS).split(",") if h.strip()]
    for host in hosts:
        if host == "*":
            return "localhost"
        return host.lstrip(".")  # ".example.gov.cn" allows example.gov.cn itself
    return "localhost"


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/readyz"
    if not url.startswith("http://"):
        print(f"unhealthy: not an http:// URL: {url}", file=sys.stderr)
        return 1
    request = urllib.request.Request(url, headers={"Host": allowed_host()})  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 - a fixed local URL
            body = response.read(500).decode(errors="replace")
            print(response.status, body)
            return 0 if response.status == 200 else 1
    except Exception as exc:  # noqa: BLE001 - any failure is "unhealthy", with its reason
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
