"""Request handlers with classic injection and deserialisation bugs (deliberately insecure)."""

import hashlib
import os
import pickle
import sqlite3
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import requests
import yaml
from flask import Flask, request

app = Flask(__name__)


@app.route("/ping")
def ping():
    host = request.args.get("host", "localhost")
    # Command injection: the host goes through a shell.
    return subprocess.check_output("ping -c 1 " + host, shell=True)


@app.route("/backup")
def backup():
    name = request.args.get("name")
    os.system("tar czf /tmp/%s.tgz /srv/data" % name)
    return "ok"


@app.route("/calc")
def calc():
    return str(eval(request.args.get("expr", "1+1")))


@app.route("/run")
def run_snippet():
    exec(request.form["code"])
    return "done"


@app.route("/user")
def user():
    conn = sqlite3.connect("app.db")
    user_id = request.args.get("id")
    query = "SELECT * FROM users WHERE id = '%s'" % user_id
    return str(conn.execute(query).fetchall())


@app.route("/session", methods=["POST"])
def load_session():
    return str(pickle.loads(request.data))


@app.route("/config", methods=["POST"])
def load_config():
    return str(yaml.load(request.data, Loader=yaml.Loader))


@app.route("/fetch")
def fetch():
    return requests.get(request.args["url"], verify=False, timeout=5).text


@app.route("/upload", methods=["POST"])
def upload():
    path = tempfile.mktemp(suffix=".bin")
    with open(path, "wb") as fh:
        fh.write(request.data)
    return path


@app.route("/xml", methods=["POST"])
def parse_xml():
    return ET.fromstring(request.data).tag


def checksum(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def legacy_checksum(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # nosec B324 - kept for an old client; shown as suppressed


def reload_workers() -> None:
    subprocess.Popen("pkill -HUP gunicorn", shell=True)


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000, debug=True)
