"""A local stand-in for the Hub routes a push uses, so huggingface_hub's real upload code runs in tests
without a network.

It speaks the LFS protocol that `upload_folder` uses when hf_xet is absent or HF_HUB_DISABLE_XET is
set (Xet's chunk store cannot be stood in for offline: hf_xet talks its own binary protocol to a CAS
server). As on the real Hub, and with the payloads of huggingface_hub's _commit_api.py and lfs.py:

- whoami-v2 checks the token; repos/create and branch answer 409 for what exists (exist_ok);
  validate-yaml accepts the card's metadata.
- preupload answers "lfs" for the paths the Hub's default .gitattributes sends to LFS (*.safetensors,
  *.model, *.bin, ...), for files of 10 MB or more and for binary ones, else "regular"; it gives the
  oid of a file the branch already holds (sha256 for LFS, git sha1 otherwise), so that an unchanged
  file is left out of the commit.
- the LFS batch API (`{repo}.git/info/lfs/objects/batch`) answers an object already stored without
  actions (the client then skips it), any other with a presigned upload URL and a verify action, or,
  above `part_size`, with one URL per part and a completion URL (multipart, as the Hub does for
  large files). Uploads carry no Authorization header: the URL's signature is what is checked, as
  on S3. Verify checks the stored object's size and sha256.
- the commit (ndjson) takes inline files and `lfsFile` pointers; it refuses a pointer to an object
  not stored and an inline file that belongs in LFS, as the Hub does.
- the revision route answers repo_info (asked when a push has nothing new to commit).
- with `cas_url`, xet-write-token hands hf_xet that CAS address (a test points it at a closed port:
  the CAS protocol itself is not stood in). CONNECT, as when the stand-in is HTTPS_PROXY, is
  answered 407 (a proxy that wants credentials).

Everything is recorded: each request (method, path, Authorization header), each commit, each object
upload. `refuse_upload(n)` makes the n-th next upload request (a PUT of an object or of a part) fail
once with S3's 403, for tests of a push that breaks midway.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# The LFS patterns of the .gitattributes the Hub writes into every new model repository.
LFS_PATTERNS = (
    "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy "
    "*.npz *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors *.tar.* *.tar *.tflite "
    "*.tgz *.wasm *.xz *.zip *.zst *tfevents*"
).split()
# The Hub sends bigger files to LFS whatever their name.
LFS_MIN_BYTES = 10 * 1000 * 1000


def git_sha1(data: bytes) -> str:
    """The git blob id of `data`: the oid preupload reports for a regular file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def goes_to_lfs(path: str, size: int, sample: bytes) -> bool:
    """The Hub's choice: LFS for the default LFS patterns, for large files and for binary ones."""
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, p) for p in LFS_PATTERNS) or size >= LFS_MIN_BYTES or b"\0" in sample


class FakeHub:
    """Start with `with FakeHub(token) as hub:`; hub.endpoint goes into HF_ENDPOINT.

    part_size: objects larger than this go up in parts of this size (multipart); None: single PUTs.
    """

    def __init__(self, token: str, *, part_size: int | None = None, cas_url: str | None = None):
        self.token = token
        self.part_size = part_size
        self.cas_url = cas_url
        self.requests: list[dict] = []
        # repo id -> {"create": its request, "branches": names, "trees": branch -> path -> entry,
        # "commits": [{"branch", "header", "files" (inline: path -> bytes), "lfs_files" (path -> pointer)}]}
        self.repos: dict[str, dict] = {}
        self.objects: dict[str, bytes] = {}  # the LFS store: oid -> content, verified, committed or not
        self.uploads: list[dict] = []  # every object that went up: oid, size, parts (1 for a single PUT)
        self.refused: list[str] = []  # oids whose upload the stand-in refused
        self._pending: dict[str, dict] = {}  # oid -> {"data" | "parts"}: uploaded, not yet verified
        self._signature = secrets.token_hex(8)  # what a presigned URL carries instead of a token
        self._refuse_at: int | None = None
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def refuse_upload(self, n: int = 1) -> None:
        """Answer the n-th next upload request (object or part PUT) with 403, once."""
        self._refuse_at = n

    def tree(self, repo: str, branch: str = "main") -> dict[str, bytes]:
        """The files of `branch` as a download would give them: path -> content."""
        return {path: entry["content"] for path, entry in self.repos[repo]["trees"][branch].items()}

    # --- the routes ---

    def _batch(self, repo: str, request: dict) -> dict:
        answers = []
        for obj in request["objects"]:
            oid, size = obj["oid"], obj["size"]
            answer = {"oid": oid, "size": size, "authenticated": True}
            if oid not in self.objects:  # no actions: already stored, the client skips it
                sign = f"X-Amz-Signature={self._signature}"
                verify = {
                    "href": f"{self.endpoint}/{repo}.git/info/lfs/objects/verify",
                    "header": {"Authorization": f"Bearer {self.token}"},
                }
                if self.part_size and size > self.part_size:
                    parts = -(-size // self.part_size)
                    header = {"chunk_size": str(self.part_size)}
                    for n in range(1, parts + 1):
                        header[f"{n:05d}"] = f"{self.endpoint}/storage/{oid}?partNumber={n}&{sign}"
                    upload = {
                        "href": f"{self.endpoint}/api/complete_multipart?oid={oid}&{sign}",
                        "header": header,
                    }
                else:
                    upload = {"href": f"{self.endpoint}/storage/{oid}?{sign}"}
                answer["actions"] = {"upload": upload, "verify": verify}
            answers.append(answer)
        return {"transfer": "basic", "objects": answers, "hash_algo": "sha256"}

    def _put_object(self, oid: str, query: dict, data: bytes) -> tuple[int, dict]:
        with self._lock:
            if self._refuse_at is not None:
                self._refuse_at -= 1
                if self._refuse_at == 0:
                    self._refuse_at = None
                    self.refused.append(oid)
                    return 403, {}
            pending = self._pending.setdefault(oid, {"parts": {}})
            if "partNumber" in query:
                number = int(query["partNumber"][0])
                pending["parts"][number] = data
                return 200, {"ETag": f'"{hashlib.md5(data).hexdigest()}"'}
            pending["data"] = data
            return 200, {}

    def _complete_multipart(self, request: dict) -> tuple[int, dict]:
        oid = request["oid"]
        pending = self._pending.get(oid, {"parts": {}})
        parts = pending["parts"]
        numbers = [p["partNumber"] for p in request["parts"]]
        if numbers != list(range(1, len(parts) + 1)) or sorted(parts) != numbers:
            return 400, {"error": f"parts {numbers} do not match the uploaded parts {sorted(parts)}"}
        for part in request["parts"]:
            if part["etag"] != f'"{hashlib.md5(parts[part["partNumber"]]).hexdigest()}"':
                return 400, {"error": f"wrong etag for part {part['partNumber']}"}
        pending["data"] = b"".join(parts[n] for n in numbers)
        pending["part_count"] = len(numbers)
        return 200, {}

    def _verify(self, request: dict) -> tuple[int, dict]:
        oid, size = request["oid"], request["size"]
        with self._lock:
            data = self._pending.get(oid, {}).get("data")
            if data is None or len(data) != size or hashlib.sha256(data).hexdigest() != oid:
                return 404, {"error": f"Object {oid} not found or corrupt"}
            self.objects[oid] = data
            parts = self._pending.pop(oid).get("part_count", 1)
            self.uploads.append({"oid": oid, "size": size, "parts": parts})
        return 200, {}

    def _commit(self, repo: str, branch: str, body: bytes) -> tuple[int, dict]:
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = next(x["value"] for x in lines if x["key"] == "header")
        files, pointers = {}, {}
        for line in lines:
            value = line["value"]
            if line["key"] == "file":
                content = base64.b64decode(value["content"])
                if goes_to_lfs(value["path"], len(content), content[:512]):
                    return 400, {"error": f"Your push was rejected: {value['path']} must be stored with LFS"}
                files[value["path"]] = content
            elif line["key"] == "lfsFile":
                if value["oid"] not in self.objects:
                    return 422, {
                        "error": "Your push was rejected because an LFS pointer pointed to a file that does "
                        f"not exist: {value['path']} ({value['oid']})"
                    }
                pointers[value["path"]] = value
        with self._lock:
            state = self.repos[repo]
            tree = state["trees"][branch]
            for path, content in files.items():
                tree[path] = {"lfs": False, "content": content}
            for path, pointer in pointers.items():
                tree[path] = {"lfs": True, "content": self.objects[pointer["oid"]]}
            oid = hashlib.sha1(f"{repo}{len(state['commits'])}".encode()).hexdigest()
            state["commits"].append(
                {"branch": branch, "header": header, "files": files, "lfs_files": pointers}
            )
            state["heads"][branch] = oid
        return 200, {"success": True, "commitUrl": f"{self.endpoint}/{repo}/commit/{oid}", "commitOid": oid}

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the Hub: httpx reuses connections

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _reply(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
                data = json.dumps(body if body is not None else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        data += self.rfile.read(size)
                        self.rfile.readline()
                    self.rfile.readline()
                    return data
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                body = self._body()
                auth = self.headers.get("Authorization", "")
                url = urlsplit(self.path)
                path, query = url.path, parse_qs(url.query)
                hub.requests.append({"method": self.command, "path": path, "authorization": auth})
                # Presigned storage URLs: the signature stands for the token, as on S3.
                if path.startswith("/storage/") or path == "/api/complete_multipart":
                    if query.get("X-Amz-Signature") != [hub._signature]:
                        self._reply(403, {"error": "SignatureDoesNotMatch"})
                    elif self.command == "PUT":
                        status, headers = hub._put_object(path.removeprefix("/storage/"), query, body)
                        self._reply(status, {"error": "AccessDenied"} if status == 403 else {}, headers)
                    else:
                        status, answer = hub._complete_multipart(json.loads(body))
                        self._reply(status, answer)
                    return
                if auth != f"Bearer {hub.token}":
                    self._reply(401, {"error": "Invalid credentials in Authorization header"})
                    return
                if path == "/api/whoami-v2":
                    self._reply(200, {"type": "user", "name": "tester", "orgs": []})
                elif path == "/api/repos/create":
                    request = json.loads(body)
                    repo = f"{request.get('organization') or 'tester'}/{request['name']}"
                    if repo in hub.repos:
                        self._reply(409, {"error": "You already created this model repo", "url": repo})
                        return
                    gitattributes = "".join(
                        f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS_PATTERNS
                    )
                    hub.repos[repo] = {
                        "create": request,
                        "branches": {"main"},
                        "trees": {
                            "main": {".gitattributes": {"lfs": False, "content": gitattributes.encode()}}
                        },
                        "heads": {"main": "1" * 40},
                        "commits": [],
                    }
                    self._reply(200, {"url": f"{hub.endpoint}/{repo}", "name": repo})
                elif path == "/api/validate-yaml":  # the real Hub checks the card's metadata here
                    self._reply(200, {"errors": [], "warnings": []})
                elif match := re.fullmatch(r"/api/models/(.+)/branch/(.+)", path):
                    state = hub.repos[match[1]]
                    if match[2] in state["branches"]:
                        self._reply(409, {"error": "Reference already exists"})
                        return
                    state["branches"].add(match[2])
                    state["trees"][match[2]] = dict(state["trees"]["main"])
                    state["heads"][match[2]] = state["heads"]["main"]
                    self._reply(200, {})
                elif match := re.fullmatch(r"/api/models/(.+)/preupload/(.+)", path):
                    tree = hub.repos[match[1]]["trees"][match[2]]
                    modes = []
                    for f in json.loads(body)["files"]:
                        lfs = goes_to_lfs(f["path"], f["size"], base64.b64decode(f["sample"]))
                        mode = {
                            "path": f["path"],
                            "uploadMode": "lfs" if lfs else "regular",
                            "shouldIgnore": False,
                        }
                        if entry := tree.get(f["path"]):
                            content = entry["content"]
                            mode["oid"] = (
                                hashlib.sha256(content).hexdigest() if entry["lfs"] else git_sha1(content)
                            )
                        modes.append(mode)
                    self._reply(200, {"files": modes, "commitOid": hub.repos[match[1]]["heads"][match[2]]})
                elif match := re.fullmatch(r"/(.+)\.git/info/lfs/objects/batch", path):
                    self._reply(200, hub._batch(match[1], json.loads(body)))
                elif re.fullmatch(r"/(.+)\.git/info/lfs/objects/verify", path):
                    self._reply(*hub._verify(json.loads(body)))
                elif match := re.fullmatch(r"/api/models/(.+)/commit/(.+)", path):
                    self._reply(*hub._commit(match[1], match[2], body))
                elif re.fullmatch(r"/api/models/(.+)/xet-write-token/(.+)", path) and hub.cas_url:
                    # The Xet token: what hf_xet needs to reach the CAS server, which is not stood in.
                    self._reply(
                        200,
                        {"accessToken": "xet-" + hub._signature, "exp": 4102444800, "casUrl": hub.cas_url},
                    )
                elif match := re.fullmatch(r"/api/models/(.+)/revision/(.+)", path):
                    state = hub.repos[match[1]]
                    siblings = [{"rfilename": p} for p in state["trees"][match[2]]]
                    self._reply(200, {"id": match[1], "sha": state["heads"][match[2]], "siblings": siblings})
                else:
                    self._reply(404, {"error": f"no route {self.command} {path}"})

            do_GET = do_POST = do_PUT = _handle

            def do_CONNECT(self):  # used as HTTPS_PROXY: a proxy that wants credentials
                hub.requests.append({"method": "CONNECT", "path": self.path, "authorization": ""})
                self.send_response(407, "Proxy Authentication Required")
                self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler
