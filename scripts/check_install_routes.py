"""The three install routes (pyproject.toml for pip, environment.yml for conda, binder/ for Binder) must
name the same runtime packages, and every pinned lower bound must satisfy pyproject's range.

Used by ``scripts/check_notebooks.py``; ``python scripts/check_install_routes.py`` checks on its own.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"pytorch": "torch", "pytorch-cpu": "torch", "pytorch-gpu": "torch"}
NOT_RUNTIME = {"python", "pip", "jupyterlab", "notebook", "nodejs", "ipykernel"}  # frontend and tooling


def conda_requirement(spec: str) -> Requirement:
    """A conda match spec (``name``, ``name>=1``, ``name=1.2``, ``channel::name``) as a pip Requirement."""
    spec = spec.split("#")[0].strip().split("::")[-1]
    m = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec)
    name, version = m.group(1), m.group(2).replace(" ", "")
    if re.match(r"=[^=]", version):  # conda's name=1.2 means 1.2.*
        version = "==" + version[1:] + ("" if version.endswith("*") else ".*")
    return Requirement(CONDA_TO_PYPI.get(name, name) + version)


def pyproject_runtime(root: Path = ROOT) -> dict[str, Requirement]:
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    return {canonicalize_name(r.name): r for r in map(Requirement, deps)}


def environment_yml(root: Path = ROOT) -> tuple[dict[str, Requirement], list[str]]:
    doc = yaml.safe_load((root / "environment.yml").read_text())
    conda = [d for d in doc["dependencies"] if isinstance(d, str)]
    pip = [p for d in doc["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])]
    reqs = {}
    for spec in conda:
        r = conda_requirement(spec)
        key = canonicalize_name(r.name)
        if key in reqs and not str(r.specifier):
            continue  # pytorch-cpu (variant) after pytorch>=2.0: keep the versioned one
        reqs[key] = r
    return reqs, pip


def binder_requirements(root: Path = ROOT) -> tuple[dict[str, Requirement], list[str]]:
    reqs, options = {}, []
    for line in (root / "binder" / "requirements.txt").read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
        else:
            r = Requirement(line)
            reqs[canonicalize_name(r.name)] = r
    return reqs, options


def runtime(reqs: dict) -> set[str]:
    return set(reqs) - NOT_RUNTIME


def lower_bound(req: Requirement) -> Version | None:
    for s in req.specifier:
        if s.operator in (">=", "==", "~=", "==="):
            return Version(s.version.rstrip(".*"))
    return None


def install_route_problems(root: Path = ROOT) -> list[str]:
    want = pyproject_runtime(root)
    problems = []
    for source, reqs in (("environment.yml", environment_yml(root)[0]),
                         ("binder/requirements.txt", binder_requirements(root)[0])):
        missing, extra = set(want) - runtime(reqs), runtime(reqs) - set(want)
        if missing or extra:
            problems.append(f"{source} vs pyproject.toml: missing {sorted(missing)}, extra {sorted(extra)}")
        for name, req in reqs.items():
            low = lower_bound(req)
            if name in want and low is not None and not want[name].specifier.contains(low, prereleases=True):
                problems.append(f"{source} allows {name}{req.specifier}, outside pyproject's "
                                f"{want[name].specifier}")
    return problems


if __name__ == "__main__":
    found = install_route_problems()
    print("\n".join(found) or "install routes: ok")
    sys.exit(int(bool(found)))
