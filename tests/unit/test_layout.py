"""The house rules of the code's layout, read from the source (README, "Architecture").

import-linter checks the imports between layers; these tests check what it cannot: routes that
do HTTP only, the size of modules and functions, and a unit suite that needs no application.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "recruit"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
# What a route must leave to its service: the session, queries and the commit.
DATABASE_WORK = re.compile(r"\bdb\.session\b|\bselect\(|\.commit\(\)")
# The only app packages a unit test may import: pure, they need no application or database.
PURE_PACKAGES = ("recruit.core", "recruit.charts")


def sources(folder: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "translations" not in p.parts)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_package_is_read():
    # The rules below pass trivially on an empty list: make sure they see the real tree.
    names = {relative(p) for p in sources()}
    assert {"recruit/core/bank.py", "recruit/web/access.py", "recruit/api/routes.py"} <= names
    assert len([p for p in sources() if p.name == "routes.py"]) == 5


def test_routes_leave_queries_and_commits_to_their_services():
    found = [
        f"{relative(path)}:{number}: {line.strip()}"
        for path in sources()
        if path.name == "routes.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if DATABASE_WORK.search(line.split("#", 1)[0])
    ]
    assert found == []


def test_the_route_rule_catches_a_query():
    # The pattern itself, on lines a route must not hold and lines it may.
    assert DATABASE_WORK.search("rows = db.session.execute(query)")
    assert DATABASE_WORK.search("query = sa.select(Campaign)")
    assert DATABASE_WORK.search("    db.session.commit()")
    assert not DATABASE_WORK.search("page = services.shortlist(organisation, ids)")
    assert not DATABASE_WORK.search('choice = request.form.get("selected")')


def test_no_module_is_longer_than_the_limit():
    long = {}
    for path in sources():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            long[relative(path)] = lines
    assert long == {}


def long_functions(source: str) -> list[tuple[int, str, int]]:
    """(line, name, length) of each function longer than the limit, def line to last line."""
    return [
        (node.lineno, node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_no_function_is_longer_than_the_limit():
    found = [
        f"{relative(path)}:{line} {name} ({length} lines)"
        for path in sources()
        for line, name, length in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_function_rule_measures_from_def_to_last_line():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES - 1))
    just_under = f"def fits():\n{body}\n"
    one_more = f"def long():\n{body}\n    return x0\n"
    assert long_functions(just_under) == []
    assert long_functions(one_more) == [(1, "long", MAX_FUNCTION_LINES + 1)]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def app_imports(path: Path) -> set[str]:
    """The app modules a file imports other than the pure packages."""
    return {
        name
        for name in imported_modules(path)
        if (name == "recruit" or name.startswith("recruit."))
        and not any(name == p or name.startswith(p + ".") for p in PURE_PACKAGES)
    }


def test_unit_tests_import_only_the_pure_packages():
    unit = Path(__file__).resolve().parent
    found = {relative(p): sorted(app_imports(p)) for p in sorted(unit.glob("test_*.py"))}
    assert {path: names for path, names in found.items() if names} == {}


def test_the_unit_rule_sees_an_app_import(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "from recruit.core import bank\n"
        "from recruit.cli import bank_group\n"
        "import recruit.web.forms\n",
        encoding="utf-8",
    )
    assert app_imports(sample) == {"recruit.cli", "recruit.cli.bank_group", "recruit.web.forms"}
