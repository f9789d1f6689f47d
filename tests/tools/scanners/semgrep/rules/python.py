"""Test target for tools/scanners/semgrep/rules/python.yaml (Flask, Django, FastAPI)."""

import urllib.request
from urllib.parse import quote, urlparse

import httpx
import requests
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from flask import Flask, redirect, request, url_for
from flask_cors import CORS, cross_origin

app = Flask(__name__)
API_BASE = "https://api.example.test"
ALLOWED_HOSTS = {"hooks.example.test"}

# ruleid: py-cors-credentials-any-origin
CORS(app, supports_credentials=True)
# ruleid: py-cors-credentials-any-origin
CORS(app, origins="*", supports_credentials=True)
# ok: py-cors-credentials-any-origin
CORS(app, origins=["https://app.example.test"], supports_credentials=True)
# ok: py-cors-credentials-any-origin
CORS(app, origins="*")

api = FastAPI()
# ruleid: py-cors-credentials-any-origin
api.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"])
# ok: py-cors-credentials-any-origin
api.add_middleware(CORSMiddleware, allow_origins=["https://app.example.test"], allow_credentials=True)


@app.route("/login")
@cross_origin(origins=["https://app.example.test"], supports_credentials=True)
def login():
    # ruleid: py-open-redirect
    return redirect(request.args.get("next"))


@app.route("/back")
def back():
    target = request.headers.get("Referer", "/")
    # ruleid: py-open-redirect
    return redirect(target, code=302)


@app.route("/home")
def home():
    # ok: py-open-redirect
    return redirect(url_for("index"))


@app.route("/profile")
def profile():
    # ok: py-open-redirect
    return redirect("/users/" + quote(request.args["id"]))


def django_next(req):
    target = req.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={req.get_host()}):
        target = "/"
    # ok: py-open-redirect
    return HttpResponseRedirect(target)


def django_unchecked(req):
    # ruleid: py-open-redirect
    return HttpResponseRedirect(req.POST["return_to"])


@app.route("/fetch")
def fetch():
    # ruleid: py-ssrf-request-url
    body = requests.get(request.args["url"], timeout=5).text
    # ruleid: py-ssrf-request-url
    meta = httpx.post(url=request.form["callback"], json={}, timeout=5).status_code
    # ok: py-ssrf-request-url
    user = requests.get(f"https://api.example.test/users/{quote(request.args['id'])}", timeout=5)
    # ok: py-ssrf-request-url
    health = requests.get(API_BASE + "/health", timeout=5)
    return {"body": body, "meta": meta, "user": user.json(), "health": health.ok}


@app.route("/hook")
# ruleid: py-cors-credentials-any-origin
@cross_origin(supports_credentials=True, origins="*")
def hook():
    url = request.get_json()["url"]
    if urlparse(url).hostname not in ALLOWED_HOSTS:
        return {"error": "host not allowed"}, 400
    # ok: py-ssrf-request-url
    with urllib.request.urlopen(url, timeout=5) as r:
        return {"status": r.status}


@app.route("/hook2")
def hook2():
    host = request.args["host"]
    if host not in ALLOWED_HOSTS:
        return {"error": "host not allowed"}, 400
    # ok: py-ssrf-request-url
    return {"status": requests.get(f"https://{host}/ping", timeout=5).status_code}
