#!/usr/bin/env python3
"""Can another language test against wecom-standin? Generates a Python client from
spec/openapi.json with openapi-python-client, starts the wecom-standin binary on a free
loopback port, and calls token.get, user.get, message.send and department.list through the
generated client, checking the typed results (and one refusal: an unknown token).

Usage: standin_python_check.py [--openapi FILE] [--standin BINARY] [--generator PATH] [--keep DIR]
  --standin    a built wecom-standin binary (default: `cargo build -p wecom-standin`)
  --generator  an openapi-python-client executable (default: installed into a venv)
"""

import argparse
import json
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

GENERATOR = "openapi-python-client==0.29.1"
PACKAGE = "wecom_client"
ROOT = pathlib.Path(__file__).resolve().parent.parent

# Runs inside the venv, with the generated package importable: the calls a team would make.
DRIVER = r'''
import importlib, inspect, json, re, sys, pathlib, typing

base_url, package_dir = sys.argv[1], pathlib.Path(sys.argv[2])
from wecom_client import Client

def operation(method, path):
    for file in (package_dir / "api").rglob("*.py"):
        text = file.read_text(encoding="utf-8")
        if f'"method": "{method}"' in text and f'"url": "{path}"' in text:
            rel = file.relative_to(package_dir.parent).with_suffix("")
            return importlib.import_module(".".join(rel.parts))
    sys.exit(f"no generated operation for {method} {path}")

def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")

plain = Client(base_url=base_url)
token_get = operation("get", "/cgi-bin/gettoken")
token = token_get.sync(client=plain, corpid="ww0123456789abcdef", corpsecret="any-secret")
check(type(token).__name__ != "dict" and isinstance(token.access_token, str) and token.access_token,
      f"token.get -> {type(token).__name__} with an access_token")
check(token.expires_in == 7200, "token.get expires_in is 7200")

# The credential is a query parameter: a client whose every request carries it.
authed = Client(base_url=base_url, httpx_args={"params": {"access_token": token.access_token}})
user = operation("get", "/cgi-bin/user/get").sync(client=authed, userid="zhangsan")
check(user.userid == "zhangsan" and isinstance(user.department, list),
      f"user.get -> {type(user).__name__} userid={user.userid} department={user.department}")

send = operation("post", "/cgi-bin/message/send")
annotation = inspect.signature(send.sync).parameters["body"].annotation
# A message is one object per kind (a union of them): take the kind whose model keeps `text`.
wanted = {"touser": "zhangsan", "msgtype": "text", "agentid": 1000002,
          "text": {"content": "hello from Python"}}
body = None
for kind in typing.get_args(annotation) or (annotation,):
    try:
        candidate = kind.from_dict(wanted)
    except Exception:
        continue
    if candidate.to_dict().get("text") == wanted["text"]:
        body = candidate
        break
check(body is not None, f"message.send body is the generated {type(body).__name__}")
sent = send.sync(client=authed, body=body)
check(sent.errcode == 0 and isinstance(sent.msgid, str),
      f"message.send -> {type(sent).__name__} msgid={sent.msgid}")

departments = operation("get", "/cgi-bin/department/list").sync(client=authed)
ids = [d.id for d in departments.department]
check(ids and all(isinstance(i, int) for i in ids),
      f"department.list -> {type(departments).__name__} ids={ids}")

stranger = Client(base_url=base_url, httpx_args={"params": {"access_token": "never-issued"}})
# A refusal is an errcode body, not the typed answer: read it raw.
refused = stranger.get_httpx_client().get("/cgi-bin/user/get", params={"userid": "zhangsan"})
check(json.loads(refused.content)["errcode"] == 40014, "an unknown token is refused with 40014")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_standin(binary, port):
    process = subprocess.Popen([str(binary), "--addr", f"127.0.0.1:{port}", "--quiet"])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"{url}/cgi-bin/gettoken?corpid=a&corpsecret=b") as r:
                if json.load(r)["errcode"] == 0:
                    return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("wecom-standin did not answer within 10 s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--openapi", default=str(ROOT / "spec" / "openapi.json"))
    parser.add_argument("--standin")
    parser.add_argument("--generator")
    parser.add_argument("--keep")
    args = parser.parse_args()
    work = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="standin-python-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        if args.generator:
            generator = pathlib.Path(args.generator)
        else:
            subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", GENERATOR], check=True)
            generator = venv / "bin" / "openapi-python-client"
        config = work / "config.yaml"
        config.write_text(
            f"post_hooks: []\nproject_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\n")
        out = work / PACKAGE
        generated = subprocess.run(
            [str(generator), "generate", "--path", args.openapi, "--output-path", str(out),
             "--meta", "none", "--config", str(config), "--overwrite"],
            capture_output=True, text=True)
        if generated.returncode != 0:
            sys.exit(f"openapi-python-client failed:\n{generated.stdout}\n{generated.stderr}")
        binary = args.standin
        if not binary:
            subprocess.run(["cargo", "build", "--quiet", "-p", "wecom-standin"], cwd=ROOT, check=True)
            binary = ROOT / "target" / "debug" / "wecom-standin"
        process, url = start_standin(binary, free_port())
        try:
            driver = work / "driver.py"
            driver.write_text(DRIVER)
            result = subprocess.run([str(python), str(driver), url, str(out)], cwd=work,
                                    env={"PYTHONPATH": str(work), "PATH": "/usr/bin:/bin"})
        finally:
            process.terminate()
            process.wait(timeout=10)
        if result.returncode != 0:
            sys.exit("the generated Python client failed against wecom-standin")
        print("the generated Python client works against wecom-standin")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
