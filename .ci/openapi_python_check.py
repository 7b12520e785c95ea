#!/usr/bin/env python3
"""Does the OpenAPI export hold up in another language? Generates a Python client from
spec/openapi.json with openapi-python-client (a standard generator) and decodes every
documented response example through the generated model classes, the way the client
decodes a real answer. Then, for every enum field an example has, decodes it again with a
value the spec does not list (WeCom adds values: the export promises they are kept).

Usage: openapi_python_check.py [--openapi FILE] [--generator PATH] [--keep DIR]
  --generator  an openapi-python-client executable (default: installed into a venv
               under the work directory, pinned below)
Fails naming the endpoint, the example and the field.
"""

import argparse
import copy
import importlib
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

GENERATOR = "openapi-python-client==0.29.1"
PACKAGE = "wecom_client"
UNLISTED_INT = 987654321
UNLISTED_STR = "value_not_in_the_spec"


def generator_in_venv(work):
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", GENERATOR], check=True)
    return venv / "bin" / "openapi-python-client", venv / "bin" / "python"


def generate(generator, openapi, work):
    config = work / "config.yaml"
    config.write_text(
        f"post_hooks: []\nproject_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\n")
    out = work / PACKAGE
    result = subprocess.run(
        [str(generator), "generate", "--path", str(openapi), "--output-path", str(out),
         "--meta", "none", "--config", str(config), "--overwrite"],
        capture_output=True, text=True)
    if result.returncode != 0 or not out.exists():
        sys.exit(f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}")
    # Each warning names a path whose operation or response the client left out.
    skipped = re.findall(r"WARNING parsing (\w+) (\S+) within", result.stdout + result.stderr)
    return out, {(method.lower(), path) for method, path in skipped}


def operation_modules(package_dir):
    """(method, path) -> module name, read from each generated endpoint module."""
    found = {}
    for file in (package_dir / "api").rglob("*.py"):
        text = file.read_text(encoding="utf-8")
        method = re.search(r'"method": "(\w+)"', text)
        url = re.search(r'"url": "([^"]+)"', text)
        if method and url:
            relative = file.relative_to(package_dir.parent).with_suffix("")
            found[(method.group(1), url.group(1))] = ".".join(relative.parts)
    return found


# What a `Schemas.sites` finder returns to end the walk at a place without a site.
STOP = object()


class Schemas:
    def __init__(self, document):
        self.components = document["components"]["schemas"]

    def resolve(self, schema):
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self.components[schema["$ref"].split("/")[-1]]
        return schema

    def sites(self, schema, value, found, path="", depth=0):
        """(JSON path, what `found` says) of every place in an example where `found(schema,
        value)` says something; the walk stops there, and at STOP."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or depth > 40:
            return
        what = found(schema, value)
        if what is STOP:
            return
        if what is not None:
            yield path, what
            return
        for part in schema.get("allOf", []):
            yield from self.sites(part, value, found, path, depth + 1)
        # A union: the branch whose tag the example carries.
        for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
            if self.matches_tag(branch, value):
                yield from self.sites(branch, value, found, path, depth + 1)
        if isinstance(value, dict):
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                if key in properties:
                    yield from self.sites(properties[key], item, found, f"{path}.{key}", depth + 1)
                elif isinstance(extra, dict):
                    yield from self.sites(extra, item, found, f"{path}.{key}", depth + 1)
        elif isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                yield from self.sites(schema["items"], item, found, f"{path}[{index}]", depth + 1)

    def enum_sites(self, schema, value):
        """(JSON path, is_integer) of every documented-enum value in an example."""
        def found(schema, value):
            # A named enum: a closed `enum` with variant names, or the open form (anyOf whose
            # first branch lists the known values).
            known = schema if "enum" in schema else None
            if known is None and "anyOf" in schema:
                first = self.resolve(schema["anyOf"][0])
                if isinstance(first, dict) and "enum" in first:
                    known = first
            if known is None or "x-enum-varnames" not in known | schema:
                return None
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                return isinstance(known["enum"][0], int)
            return STOP
        return self.sites(schema, value, found)

    def bare_item_sites(self, schema, value):
        """(JSON path, the item) of every list a field also reads as its one item sent bare
        (`anyOf: [array of T, T]`), where the example has a list."""
        def found(schema, value):
            branches = [self.resolve(b) for b in schema.get("anyOf", [])]
            bare = len(branches) == 2 and isinstance(branches[0], dict) \
                and branches[0].get("type") == "array"
            if bare and isinstance(value, list) and value:
                return value[0]
            return None
        return self.sites(schema, value, found)

    def matches_tag(self, branch, value):
        branch = self.resolve(branch)
        if not isinstance(value, dict) or not isinstance(branch, dict):
            return False
        tags = [(key, prop["const"]) for key, prop in branch.get("properties", {}).items()
                if isinstance(prop, dict) and "const" in prop]
        return bool(tags) and all(str(value.get(key)) == str(const) for key, const in tags)


def replaced(value, path, replacement):
    """A copy of `value` with what is at `path` replaced by `replacement(old)`."""
    copied = copy.deepcopy(value)
    steps = re.findall(r"\.([^.\[]+)|\[(\d+)\]", path)
    target = copied
    for key, index in steps[:-1]:
        target = target[key] if key else target[int(index)]
    key, index = steps[-1]
    slot = key if key else int(index)
    target[slot] = replacement(target[slot])
    return copied


def substitute(value, path, is_integer):
    """A copy of `value` with the enum at `path` replaced by an unlisted value."""
    def unlisted(old):
        if not is_integer:
            return UNLISTED_STR
        return str(UNLISTED_INT) if isinstance(old, str) else UNLISTED_INT
    return replaced(value, path, unlisted)


def main():
    parser = argparse.ArgumentParser()
    root = pathlib.Path(__file__).resolve().parent.parent
    parser.add_argument("--openapi", default=str(root / "spec" / "openapi.json"))
    parser.add_argument("--generator")
    parser.add_argument("--keep")
    args = parser.parse_args()
    openapi = pathlib.Path(args.openapi).resolve()
    work = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="openapi-python-check-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return check(args, openapi, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def check(args, openapi, work):
    if args.generator:
        generator = pathlib.Path(args.generator)
        python = generator.parent / "python"
    else:
        generator, python = generator_in_venv(work)
    package_dir, skipped = generate(generator, openapi, work)
    # Decoding runs in the generator's venv, which has the client's dependencies (httpx, attrs).
    result = subprocess.run(
        [str(python), __file__, "--decode", str(openapi), str(package_dir), json.dumps(sorted(skipped))],
        text=True)
    return result.returncode


def decode(openapi, package_dir, skipped):
    import httpx
    sys.path.insert(0, str(package_dir.parent))
    client_module = importlib.import_module(f"{PACKAGE}.client")
    client = client_module.Client(base_url="http://127.0.0.1", raise_on_unexpected_status=True)
    document = json.loads(pathlib.Path(openapi).read_text(encoding="utf-8"))
    schemas = Schemas(document)
    modules = operation_modules(package_dir)
    skipped = {tuple(s) for s in skipped}
    failures = []
    counts = {"examples": 0, "decoded": 0, "enum_cases": 0, "enum_decoded": 0,
              "enum_examples": 0, "enum_examples_decoded": 0, "bare_cases": 0, "bare_decoded": 0}

    def attempt(module, name, value):
        response = httpx.Response(200, json=value)
        try:
            parsed = module._parse_response(client=client, response=response)
        except Exception as error:  # the generated code's own exception is the finding
            return f"{type(error).__name__}: {error}"
        if parsed is None:
            return "the generated client has no model for this response"
        # Written back, the model gives the example again: nothing lost or mangled.
        written = parsed.to_dict() if hasattr(parsed, "to_dict") else parsed
        if written != value:
            keys = sorted(k for k in set(written) | set(value) if written.get(k) != value.get(k)) \
                if isinstance(written, dict) and isinstance(value, dict) else []
            return f"decoded, but to_dict() differs from the example at {keys or 'the top'}"
        return None

    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            if "application/octet-stream" in content:
                continue  # a download: its JSON body is only the error envelope
            examples = content.get("application/json", {}).get("examples", {})
            schema = content.get("application/json", {}).get("schema", {})
            endpoint = operation.get("operationId", f"{method} {path}")
            for name, example in examples.items():
                value = example["value"]
                counts["examples"] += 1
                module_name = modules.get((method, path))
                if (method, path) in skipped or module_name is None:
                    failures.append(f"{endpoint} [{name}]: the generator left this operation "
                                    "or its response out (see its warning)")
                    continue
                module = importlib.import_module(module_name)
                problem = attempt(module, name, value)
                if problem:
                    failures.append(f"{endpoint} [{name}]: documented example: {problem}")
                else:
                    counts["decoded"] += 1
                sites = list(schemas.enum_sites(schema, value))
                if sites:
                    counts["enum_examples"] += 1
                all_decoded = True
                for field, is_integer in sites:
                    counts["enum_cases"] += 1
                    changed = substitute(value, field, is_integer)
                    problem = attempt(module, name, changed)
                    if problem:
                        failures.append(f"{endpoint} [{name}]: field {field.lstrip('.')} with "
                                        f"an unlisted value: {problem}")
                        all_decoded = False
                    else:
                        counts["enum_decoded"] += 1
                if sites and all_decoded:
                    counts["enum_examples_decoded"] += 1
                for field, item in schemas.bare_item_sites(schema, value):
                    counts["bare_cases"] += 1
                    problem = attempt(module, name, replaced(value, field, lambda _: item))
                    if problem:
                        failures.append(f"{endpoint} [{name}]: field {field.lstrip('.')} sent "
                                        f"as its one item: {problem}")
                    else:
                        counts["bare_decoded"] += 1
    for method, path in sorted(skipped):
        operation = document["paths"].get(path, {}).get(method, {})
        failures.append(f"{operation.get('operationId', path)} ({method.upper()} {path}): "
                        "openapi-python-client left the operation or its response out")
    for line in failures:
        print(line, file=sys.stderr)
    print(f"openapi-python-client left out {len(skipped)} operation(s) or response(s)")
    print(f"documented response examples decoded: {counts['decoded']} of {counts['examples']}")
    print(f"with an unlisted value in one enum field: {counts['enum_decoded']} of "
          f"{counts['enum_cases']} cases; examples decoding with each of their enum fields "
          f"unlisted: {counts['enum_examples_decoded']} of {counts['enum_examples']}")
    print(f"lists sent as their one item: {counts['bare_decoded']} of {counts['bare_cases']}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--decode":
        sys.exit(decode(sys.argv[2], pathlib.Path(sys.argv[3]), json.loads(sys.argv[4])))
    sys.exit(main())
