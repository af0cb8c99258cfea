"""English throughout: every user-facing string goes through Django's translation machinery.

Japanese is the source language (msgids are Japanese); each part's English catalogue must translate every entry,
its compiled .mo must match its .po, its templates may hold no Japanese outside translation tags, and its
scripts (SCRIPTS: static/js is the project's) none outside comments and gettext() calls (the djangojs catalogue).
A part joins TRANSLATED when it is done; in the end every part is listed.

Python modules of a TRANSLATED part (its non-test modules, migrations aside) hold no Japanese string literal
except:
- the argument of a gettext-family call (`_`, `gettext`, `gettext_lazy`, `pgettext`, `ngettext`, `*_lazy`,
  `gettext_noop`, ...), which is the msgid;
- a docstring (comments are not literals);
- data that is not UI text (job-board CSV column names, kana/kanji normalisation tables, university names,
  Japanese words a parser accepts). Such data is exempt in one of two narrow ways:
  * the whole module is listed in DATA_MODULES with the reason, when the module is nothing but such data;
  * the statement that holds it carries the marker comment `# i18n: data` on its first line or on the line
    just above it (e.g. `# i18n: data — the job board's column names` above an assignment); every literal of
    that one statement is then exempt, nothing else.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent

# part -> (its locale directory, its template directories)
PARTS: dict[str, tuple[Path, list[Path]]] = {
    "project": (ROOT / "locale", [ROOT / "templates"]),
    **{
        app: (ROOT / app / "locale", [ROOT / app / "templates"])
        for app in (
            "accounts",
            "api",
            "booking",
            "candidates",
            "dashboard",
            "incidents",
            "notifications",
            "seasons",
            "selection",
            "tenants",
            "webhooks",
        )
    },
}

# part -> its JavaScript directories (the djangojs catalogue in locale/ serves them all: static/ is no app's)
SCRIPTS: dict[str, list[Path]] = {
    "project": [ROOT / "static" / "js"],
    "booking": [ROOT / "static" / "booking"],
    "selection": [ROOT / "static" / "selection"],
}

TRANSLATED: set[str] = {
    "accounts",
    "api",
    "booking",
    "candidates",
    "dashboard",
    "incidents",
    "notifications",
    "project",
    "seasons",
    "selection",
    "tenants",
    "webhooks",
}

# Modules (paths from the repository root) that are nothing but data whose Japanese is not UI text.
DATA_MODULES: dict[str, str] = {
    "api/docs.py": "the API docs' curl examples, Japanese and English side by side in one document",
    "candidates/boards.py": "the job boards' CSV column names and the boards' own names, as their files spell them",
}

DATA_MARKER = "# i18n: data"
GETTEXT_CALLS = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff60\u3000-\u303f]")
# What may carry Japanese in a template: translation tags and blocks, comments, and the language menu's names.
_ALLOWED = re.compile(
    r"\{%\s*blocktrans(?:late)?\b.*?\{%\s*endblocktrans(?:late)?\s*%\}"
    r"|\{%\s*trans(?:late)?\s.*?%\}"
    r"|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}"
    r"|\{#.*?#\}"
    r"|\{\{\s*_\(.*?\)\s*\}\}",
    re.DOTALL,
)


# What may carry Japanese in a script: comments and the string argument of gettext-family calls.
_JS_STRING = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
_SCRIPT_ALLOWED = re.compile(
    r"/\*.*?\*/|(?<![:\w])//[^\n]*"
    rf"|\b(?:gettext|ngettext|pgettext|npgettext|gettext_noop)\(\s*{_JS_STRING}(?:\s*,\s*{_JS_STRING})*",
    re.DOTALL,
)


def _templates(part: str) -> list[Path]:
    return sorted(
        path for directory in PARTS[part][1] if directory.exists() for path in directory.rglob("*.html")
    )


def test_every_part_is_known():
    assert TRANSLATED <= set(PARTS)


@pytest.mark.parametrize("part", sorted(TRANSLATED))
def test_no_japanese_left_in_templates(part):
    left = []
    for path in _templates(part):
        text = _ALLOWED.sub("", path.read_text(encoding="utf-8"))
        for line in text.splitlines():
            if JAPANESE.search(line):
                left.append(f"{path.relative_to(ROOT)}: {line.strip()[:80]}")
    assert not left, "Japanese outside translation tags:\n" + "\n".join(left[:40])


@pytest.mark.parametrize("part", sorted(TRANSLATED & set(SCRIPTS)))
def test_no_japanese_left_in_scripts(part):
    left = []
    for path in sorted(path for directory in SCRIPTS[part] for path in directory.glob("*.js")):
        text = _SCRIPT_ALLOWED.sub("", path.read_text(encoding="utf-8"))
        left += [
            f"{path.relative_to(ROOT)}: {line.strip()[:80]}"
            for line in text.splitlines()
            if JAPANESE.search(line)
        ]
    assert not left, "Japanese outside gettext() in scripts:\n" + "\n".join(left[:40])


def test_the_script_check_finds_what_it_should():
    script = """// 見本
var a = gettext("発生") + " ";  /* 注記 */
var b = "残り";
var c = ngettext('1件', '%s件', n);
"""
    left = [line for line in _SCRIPT_ALLOWED.sub("", script).splitlines() if JAPANESE.search(line)]
    assert left == ['var b = "残り";']


@pytest.mark.parametrize("part", sorted(TRANSLATED))
def test_english_catalogue_is_complete_and_compiled(part):
    po_path = PARTS[part][0] / "en" / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(po_path))
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated in {po_path}: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {po_path}: {fuzzy[:10]}"
    # The compiled catalogue is what Django reads: it must say what the .po says.
    with open(po_path.with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in catalogue.translated_entries():
        if entry.msgid_plural:
            continue
        read = (
            compiled.pgettext(entry.msgctxt, entry.msgid) if entry.msgctxt else compiled.gettext(entry.msgid)
        )
        if read != entry.msgstr:
            stale.append(entry.msgid)
    assert not stale, f".mo out of date for {po_path} (run make messages): {stale[:10]}"
    # No English translation may still be Japanese.
    still_japanese = [
        entry.msgid for entry in catalogue.translated_entries() if JAPANESE.search(entry.msgstr)
    ]
    assert not still_japanese, f"English entries left in Japanese: {still_japanese[:10]}"


def _modules(part: str) -> list[Path]:
    """The part's own Python modules: its app (or saas/ for the project), without migrations or catalogues."""
    top = ROOT / ("saas" if part == "project" else part)
    return sorted(
        path
        for path in top.rglob("*.py")
        if not {"migrations", "locale", "templates", "tests"} & set(path.relative_to(top).parts)
    )


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def japanese_literals(path: Path, *, root: Path = ROOT) -> list[str]:
    """The Japanese string literals of one module that are neither msgids, docstrings nor marked data."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    allowed: set[int] = set()  # ids of Constant nodes that may hold Japanese

    def allow_all(node: ast.AST) -> None:
        allowed.update(id(child) for child in ast.walk(node) if isinstance(child, ast.Constant))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                allowed.add(id(body[0].value))
        if isinstance(node, ast.Call) and _called_name(node) in GETTEXT_CALLS:
            for argument in node.args:
                if isinstance(argument, ast.Constant):
                    allowed.add(id(argument))
        if isinstance(node, ast.stmt):
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            if DATA_MARKER in lines[node.lineno - 1] or (above.startswith("#") and DATA_MARKER in above):
                allow_all(node)
    return [
        f"{path.relative_to(root)}:{node.lineno}: {node.value.strip()[:60]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and JAPANESE.search(node.value)
        and id(node) not in allowed
    ]


def test_data_modules_exist():
    assert all((ROOT / module).is_file() for module in DATA_MODULES)


def test_the_python_check_finds_what_it_should(tmp_path):
    """The check itself: a bare literal and an f-string are found; msgids, docstrings and marked data are not."""
    module = tmp_path / "sample.py"
    module.write_text(
        '''"""見本。"""
from django.utils.translation import gettext as _, pgettext_lazy

def view():
    """見本の関数。"""
    label = _("保存する")
    word = pgettext_lazy("面接", "枠")
    # i18n: data — column names of a job board's file
    COLUMNS = {"氏名": "name",
               "大学": "university"}
    ROW = ("カナ",)  # i18n: data
    left = "残っている"
    name = "x"
    return f"{name}さん"
''',
        encoding="utf-8",
    )
    found = japanese_literals(module, root=tmp_path)
    assert found == ["sample.py:12: '残っている'", "sample.py:14: 'さん'"]


@pytest.mark.parametrize("part", sorted(TRANSLATED))
def test_no_japanese_literal_in_python(part):
    left = [
        literal
        for path in _modules(part)
        if str(path.relative_to(ROOT)) not in DATA_MODULES
        for literal in japanese_literals(path)
    ]
    assert not left, "Japanese string literals outside gettext calls:\n" + "\n".join(left[:40])
