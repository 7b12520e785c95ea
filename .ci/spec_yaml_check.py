#!/usr/bin/env python3
"""Every spec/*.yaml must load in PyYAML, Python's usual YAML parser, to the same data a
YAML 1.2 parser (ours, serde_yaml_ng) reads. PyYAML follows YAML 1.1, where plain `yes`,
`no`, `on`, `off`, `y`, `n`, dates and `1:30` are not strings: such a scalar must be quoted.

Usage: spec_yaml_check.py [SPEC_DIR]   (default: spec/ next to this directory)
Fails naming the file, and the place for a scalar read differently.
"""

import pathlib
import re
import sys

import yaml


class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema booleans, integers and floats, no timestamps."""


Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers
          if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp",
                         "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"))
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"))


def first_difference(a, b, place="document"):
    """Where two loaded documents differ, or None."""
    if type(a) is not type(b):
        return place, a, b
    if isinstance(a, dict):
        for key in a.keys() | b.keys():
            if key not in a or key not in b:
                return f"{place}.{key}", a.get(key), b.get(key)
            found = first_difference(a[key], b[key], f"{place}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{place} (length)", len(a), len(b)
        for index, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{place}[{index}]")
            if found:
                return found
        return None
    return None if a == b else (place, a, b)


def main():
    spec = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else \
        pathlib.Path(__file__).resolve().parent.parent / "spec"
    files = sorted(spec.glob("*.yaml"))
    if not files:
        print(f"no spec/*.yaml in {spec}", file=sys.stderr)
        return 1
    failed = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            as_pyyaml = yaml.load(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as error:
            failed.append(f"{path.name}: PyYAML cannot load it: {error}")
            continue
        as_yaml12 = yaml.load(text, Loader=Yaml12Loader)
        found = first_difference(as_pyyaml, as_yaml12)
        if found:
            place, old, new = found
            failed.append(f"{path.name}: {place}: PyYAML (YAML 1.1) reads {old!r} where a "
                          f"YAML 1.2 parser reads {new!r}: quote the scalar")
    for line in failed:
        print(line, file=sys.stderr)
    if failed:
        return 1
    print(f"PyYAML {yaml.__version__} loads all {len(files)} spec files as YAML 1.2 does")
    return 0


if __name__ == "__main__":
    sys.exit(main())
