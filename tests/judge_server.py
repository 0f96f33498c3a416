"""A local stand-in for an OpenAI-compatible chat-completions endpoint (the KoMT-Bench judge).

As the real API on the path ko-eval uses: POST {base}/chat/completions with a JSON body (model,
messages, temperature, max_tokens) and a Bearer key; 401 with an error object without the key, 400
for a body without messages, 429 once when asked (rate limit, to be retried); the reply is a chat
completion whose choices[0].message.content is the judgment. The judgment is computed from the
request so a test can recompute it: a rating of len(user prompt) % 10 + 1 in FastChat's "[[N]]"
form, or no rating when the user prompt contains `unrated`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY = "judge-test-key"


def judgment_for(user: str, unrated: str | None) -> str:
    if unrated and unrated in user:
        return "답변을 평가할 수 없습니다."
    return f"간단한 설명: 무난합니다. 점수: [[{len(user) % 10 + 1}]]"


class JudgeServer:
    def __init__(self, unrated: str | None = None, rate_limit_once: bool = False):
        self.requests: list[dict] = []
        self.unrated = unrated
        self.rate_limit_once = rate_limit_once
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, code: int, body: dict):
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                if self.path != "/v1/chat/completions":
                    return self.reply(404, {"error": {"message": f"no route {self.path}"}})
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    return self.reply(
                        401, {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}
                    )
                if not body.get("messages"):
                    return self.reply(400, {"error": {"message": "'messages' is a required property"}})
                if server.rate_limit_once:
                    server.rate_limit_once = False
                    return self.reply(429, {"error": {"message": "Rate limit reached"}})
                server.requests.append(body)
                user = next(m["content"] for m in body["messages"] if m["role"] == "user")
                content = judgment_for(user, server.unrated)
                self.reply(
                    200,
                    {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    },
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
