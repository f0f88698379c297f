"""House rules that code review would otherwise have to catch. Which module may import which
is checked by `lint-imports` (pyproject.toml [tool.importlinter], run by `make test`)."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"


def _module_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=~!;]", requirement, maxsplit=1)[0].lower().replace("-", "_")


def test_every_flask_dependency_is_forbidden_to_core_outside_core_web():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    flask_contract = next(c for c in project["tool"]["importlinter"]["contracts"]
                          if "flask" in c.get("forbidden_modules", []))
    web_only = ("flask", "werkzeug", "wtforms", "jinja2_fragments")
    flask_packages = {_module_name(r) for r in project["project"]["dependencies"]
                      if _module_name(r).startswith(web_only)}
    assert flask_packages <= set(flask_contract["forbidden_modules"])
    assert flask_contract["source_modules"] == ["core"]


def test_core_never_converts_to_float():
    offenders = [str(p.relative_to(CORE)) for p in CORE.rglob("*.py")
                 if re.search(r"\bfloat\(", p.read_text())]
    assert offenders == []
