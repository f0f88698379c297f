"""House rules that code review would otherwise have to catch."""
import re
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
FLASK_IMPORT = re.compile(r"^\s*(from|import)\s+(flask|flask_[a-z_]+|werkzeug|wtforms)\b", re.M)


def test_core_outside_core_web_imports_no_flask_or_werkzeug():
    offenders = [str(p.relative_to(CORE)) for p in CORE.rglob("*.py")
                 if "web" not in p.relative_to(CORE).parts[:1]
                 and FLASK_IMPORT.search(p.read_text())]
    assert offenders == []


def test_core_never_converts_to_float():
    offenders = [str(p.relative_to(CORE)) for p in CORE.rglob("*.py")
                 if re.search(r"\bfloat\(", p.read_text())]
    assert offenders == []
