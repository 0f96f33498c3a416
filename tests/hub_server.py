"""A local stand-in for the few Hub API routes a push uses, so huggingface_hub's real upload code
runs in tests without a network.

It answers whoami, repo and branch creation, the card's metadata check (always valid), preupload
(every file "regular", i.e. sent inline in the commit) and the commit itself, and records each
request (path and Authorization header) and each commit (header and decoded files).
huggingface_hub speaks this protocol when HF_ENDPOINT points here and HF_HUB_DISABLE_XET=1.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeHub:
    """Start with `with FakeHub(token) as hub:`; hub.endpoint goes into HF_ENDPOINT."""

    def __init__(self, token: str):
        self.token = token
        self.requests: list[dict] = []
        self.repos: dict[str, dict] = {}  # repo id -> {"create" (its request), "branches", "commits"}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                auth = self.headers.get("Authorization", "")
                hub.requests.append({"method": self.command, "path": self.path, "authorization": auth})
                if auth != f"Bearer {hub.token}":
                    self._reply(401, {"error": "Invalid credentials in Authorization header"})
                    return
                path = self.path.split("?")[0]
                if path == "/api/whoami-v2":
                    self._reply(200, {"type": "user", "name": "tester", "orgs": []})
                elif path == "/api/repos/create":
                    request = json.loads(body)
                    repo = f"{request.get('organization') or 'tester'}/{request['name']}"
                    hub.repos.setdefault(repo, {"create": request, "branches": {"main"}, "commits": []})
                    self._reply(200, {"url": f"{hub.endpoint}/{repo}", "name": repo})
                elif path == "/api/validate-yaml":  # the real Hub checks the card's metadata here
                    self._reply(200, {"errors": [], "warnings": []})
                elif match := re.fullmatch(r"/api/models/(.+)/branch/(.+)", path):
                    hub.repos[match[1]]["branches"].add(match[2])
                    self._reply(200, {})
                elif match := re.fullmatch(r"/api/models/(.+)/preupload/(.+)", path):
                    files = json.loads(body)["files"]
                    modes = [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
                    ]
                    self._reply(200, {"files": modes})
                elif match := re.fullmatch(r"/api/models/(.+)/commit/(.+)", path):
                    lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                    header = next(x["value"] for x in lines if x["key"] == "header")
                    files = {
                        x["value"]["path"]: base64.b64decode(x["value"]["content"])
                        for x in lines
                        if x["key"] == "file"
                    }
                    commit = {"branch": match[2], "header": header, "files": files}
                    hub.repos[match[1]]["commits"].append(commit)
                    url = f"{hub.endpoint}/{match[1]}/commit/{'0' * 40}"
                    self._reply(200, {"success": True, "commitUrl": url, "commitOid": "0" * 40})
                else:
                    self._reply(404, {"error": f"no route {self.command} {path}"})

            do_GET = do_POST = do_PUT = _handle

        return Handler
