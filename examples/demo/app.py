"""A deliberately vulnerable Flask service: one endpoint per classic Python hole, beside
endpoints that do legitimate work. It exists to show what auditwall stops. Never expose it.

Run: python app.py --data DIR --upstream URL [--port N] [--port-file PATH]
"""

import argparse
import base64
import os
import pickle
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request

import yaml
from flask import Flask, jsonify, render_template, render_template_string, request

HERE = os.path.dirname(os.path.abspath(__file__))
FILES_DIR = os.path.join(HERE, "files")


def create_app(data_dir, upstream):
    app = Flask(__name__, template_folder=os.path.join(HERE, "templates"))
    database = os.path.join(data_dir, "notes.db")
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")

    # A refused operation raises PermissionError (auditwall's PolicyViolation is one): the
    # client gets a 403 that says why, as a service would answer any permission failure.
    @app.errorhandler(PermissionError)
    def refused(error):
        return jsonify(error="permission denied", detail=str(error)), 403

    # ---- legitimate endpoints -------------------------------------------------------------

    @app.get("/")
    def index():
        return render_template("index.html", rules=sorted(str(r) for r in app.url_map.iter_rules()))

    @app.get("/health")
    def health():
        return jsonify(status="ok", python=sys.version.split()[0])

    @app.post("/notes")
    def add_note():
        text = (request.get_json(silent=True) or {}).get("text", "")
        if not text:
            return jsonify(error="a note needs text"), 400
        with sqlite3.connect(database) as db:
            note_id = db.execute("INSERT INTO notes (text) VALUES (?)", (text,)).lastrowid
        return jsonify(id=note_id, text=text), 201

    @app.get("/notes")
    def list_notes():
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT id, text FROM notes ORDER BY id").fetchall()
        return jsonify(notes=[{"id": i, "text": t} for i, t in rows])

    @app.get("/hello")
    def hello():
        return render_template("hello.html", name=request.args.get("name", "world"))

    @app.get("/weather")
    def weather():
        # An allowed outbound call: the upstream service this app depends on.
        with urllib.request.urlopen(upstream + "/weather", timeout=5) as response:
            return jsonify(upstream=response.status, forecast=response.read().decode())

    # ---- vulnerable endpoints -------------------------------------------------------------

    @app.get("/resolve")
    def resolve():
        # Command injection through a shell: host=localhost;touch /tmp/x
        host = request.args.get("host", "localhost")
        done = subprocess.run(f"getent hosts {host}", shell=True, capture_output=True, text=True)
        return jsonify(status=done.returncode, output=done.stdout)

    @app.get("/backup")
    def backup():
        # Command injection through os.system: name=x;touch /tmp/x
        name = request.args.get("name", "notes")
        status = os.system(f"tar -czf {data_dir}/{name}.tar.gz -C {data_dir} notes.db")
        return jsonify(status=status)

    @app.get("/profile")
    def profile():
        # Unpickling a cookie the client controls.
        cookie = request.cookies.get("prefs")
        prefs = pickle.loads(base64.b64decode(cookie)) if cookie else {"theme": "light"}
        return jsonify(prefs=repr(prefs))

    @app.post("/config")
    def config():
        # PyYAML's unsafe loader on a request body.
        loaded = yaml.unsafe_load(request.get_data(as_text=True))
        return jsonify(config=repr(loaded))

    @app.get("/greet")
    def greet():
        # Server-side template injection: user input becomes template source.
        name = request.args.get("name", "world")
        return render_template_string("<p>Hello " + name + "!</p>")

    @app.get("/fetch")
    def fetch():
        # Server-side request forgery: any URL the client names is fetched.
        url = request.args.get("url", upstream + "/weather")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return jsonify(status=response.status, body=response.read().decode(errors="replace"))
        except urllib.error.URLError as error:
            if isinstance(error.reason, PermissionError):
                raise error.reason
            return jsonify(error=str(error.reason)), 502

    @app.get("/calc")
    def calc():
        # eval of user input.
        return jsonify(result=repr(eval(request.args.get("expr", "1+1"))))

    @app.get("/files")
    def files():
        # Path traversal: name=../../../../etc/passwd
        name = request.args.get("name", "readme.txt")
        with open(os.path.join(FILES_DIR, name)) as f:
            return jsonify(name=name, content=f.read())

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="directory for the database")
    parser.add_argument("--upstream", required=True, help="base URL of the upstream service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the port here once listening")
    args = parser.parse_args()

    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, create_app(args.data, args.upstream), threaded=True)
    port = server.socket.getsockname()[1]
    print(f"demo service listening on http://{args.host}:{port}", file=sys.stderr, flush=True)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
