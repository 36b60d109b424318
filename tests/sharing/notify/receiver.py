"""A webhook receiver for tests: an http.server thread on 127.0.0.1 that answers with the
codes it is told to, records what it got and verifies the signature."""

import http.server
import json
import threading

from sharing.notify.webhooks import verify_signature


class Receiver:
    def __init__(self, secret: str, codes=(200,), hold: threading.Event | None = None):
        self.secret, self.codes, self.hold = secret, list(codes), hold
        self.requests: list[dict] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                index = len(receiver.requests)
                code = receiver.codes[min(index, len(receiver.codes) - 1)]
                receiver.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": body,
                        "json": json.loads(body),
                        "code": code,
                        "verified": verify_signature(receiver.secret, body, self.headers.get("X-Signature", "")),
                    }
                )
                receiver.arrived.set()
                if receiver.hold is not None and index == 0:
                    receiver.hold.wait(20)  # the first request hangs (the worker is killed meanwhile)
                    return
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[dict]:
        return [
            r for r in self.requests if 200 <= r["code"] < 300 and not (self.hold is not None and r is self.requests[0])
        ]
