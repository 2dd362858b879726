"""web.userdir and web.allow_override: the apache_config fact (Apache's own list of its
files and modules, the files read back) on real captures of Debian 12's apache2 (stock,
and with userdir and an `AllowOverride All` site: tests/fixtures/facts/apache_config/),
the parser's corners on crafted lines, the two checks, and the AllowOverride fix's plan
(the declared files only, read back, `apache2ctl -t` before a graceful reload)."""

from __future__ import annotations

import base64
from pathlib import Path

import checkrun
import pytest

from fleetcheck import values
from fleetcheck.facts import ParseError
from fleetcheck.facts import apache_config as ac
from fleetcheck.facts.file import FileState
from fleetcheck.facts.web import override_value
from fleetcheck.remediation import PlanContext, RunCommand, WriteFile, lookup
from fleetcheck.remediate.web import set_lines

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "facts" / "apache_config"
STOCK = ac.parse((FIX / "debian12_stock.txt").read_text())
BROKEN = ac.parse((FIX / "debian12_userdir_and_allowoverride_all.txt").read_text())
SHOP = "/etc/apache2/sites-available/shop.conf"
M = ac.MARK


def frame(*files: tuple[str, str], modules=("core_module", "userdir_module")) -> str:
    out = [M + "tool apache2ctl", M + "modules 0", "Loaded Modules:"]
    out += [f" {m} (shared)" for m in modules]
    out += [M + "includes 0", "Included configuration files:"]
    out += [f"  (*) {path}" for path, _ in files]
    for path, text in files:
        out.append(M + "file " + path)
        out += ["|" + line for line in text.splitlines()]
    return "\n".join(out + [ac.END]) + "\n"


# -- the fact -----------------------------------------------------------------------------


def test_the_stock_capture_lists_every_file_and_no_userdir():
    assert STOCK.tool == "apache2ctl" and STOCK.includes[0] == "/etc/apache2/apache2.conf"
    assert len(STOCK.includes) == 37 and not STOCK.unread
    assert "mpm_event_module" in STOCK.modules and not STOCK.loaded("userdir_module")
    assert {tuple(d.args) for d in STOCK.directives("allowoverride")} == {("None",)}
    assert not ac.overriding(STOCK, ["None"]) and not ac.userdirs(STOCK).served


def test_the_broken_capture_names_the_real_files_and_lines():
    found = ac.overriding(BROKEN, ["None"])
    assert [(d.where, d.args) for d in found] == [
        ("/etc/apache2/mods-available/userdir.conf:5",
         ["FileInfo", "AuthConfig", "Limit", "Indexes"]),
        (f"{SHOP}:6", ["All"]),                       # AllowOverride \ continued
        (f"{SHOP}:12", ["Options=Indexes,MultiViews", "AuthConfig"])]
    assert found[1].end == 7 and found[1].sections == ["VirtualHost *:80",
                                                       "Directory /srv/shop"]
    assert found[2].section("directory") == "Directory /srv/shop/legacy"
    php = [d for d in BROKEN.config if d.name == "php_admin_flag"]
    assert php and not php[0].active              # <IfModule mod_php.c>: not loaded
    dirs = ac.userdirs(BROKEN)
    assert dirs.served and dirs.serves("alice") and not dirs.serves("root")


def test_overrides_are_judged_by_class():
    assert [d.line for d in ac.overriding(BROKEN, ["None", "FileInfo", "AuthConfig",
                                                   "Limit", "Indexes", "Options"])] == [6]
    assert ac.overriding(BROKEN, ["All"]) == []
    nonfatal = ac.parse(frame(("/a.conf", "<Directory />\nAllowOverride Nonfatal=All None\n"
                                          "AllowOverrideList Redirect\n</Directory>\n")))
    assert [d.name for d in ac.overriding(nonfatal, ["None"])] == ["AllowOverrideList"]


@pytest.mark.parametrize("line, words", [
    ('ServerName "shop example"', ["ServerName", "shop example"]),
    ("Header set X 'a b' c", ["Header", "set", "X", "a b", "c"]),
    (r'SetEnv A "say \"hi\""', ["SetEnv", "A", 'say "hi"']),
    ('Unclosed "quote here', ["Unclosed", "quote here"]),
])
def test_words_split_as_apache_does(line, words):
    assert ac.words(line) == words


def test_sections_ifmodule_and_an_unclosed_one():
    text = ("<IfModule !userdir_module>\nUserDir public_html\n</IfModule>\n"
            "<ifmodule mod_userdir.c>\nUserDir disabled\n</IfModule>\n<Directory /x>\n"
            "AllowOverride All\n")
    cfg = ac.parse(frame(("/a.conf", text)))
    first, second, third = cfg.directives("UserDir", "AllowOverride")
    assert not first.active and second.active and second.sections == ["ifmodule mod_userdir.c"]
    assert third.sections == ["Directory /x"]    # still open at the end of the file
    assert not ac.userdirs(cfg).served           # loaded, but disabled for all


@pytest.mark.parametrize("text, error", [
    (M + "tool apache2ctl\n", "no 'fleetcheck-apache: end' line"),
    (M + "tool sh -c evil\n" + ac.END + "\n", "line 1: unknown tool"),
    (M + "tool apache2ctl\n" + M + "file /a\nAllowOverride All\n" + ac.END + "\n",
     "line 3: a file's line without its '|'"),
    (M + "tool apache2ctl\n" + M + "modules x\n" + ac.END + "\n",
     "line 2: modules without an exit status"),
    (M + "tool apache2ctl\n" + M + "surprise\n" + ac.END + "\n", "line 2: unknown framing"),
    ("nothing\n" + ac.END + "\n", "line 1: expected"),
])
def test_malformed_outputs_are_parse_errors(text, error):
    with pytest.raises(ParseError, match=error):
        ac.parse(text)


def test_a_file_line_cannot_pass_for_framing():
    spoof = ac.parse(frame(("/a.conf", M + "end\nAllowOverride All\n")))
    assert [d.args for d in spoof.directives("AllowOverride")] == [["All"]]


def test_files_past_the_cap_are_unread():
    text = frame(("/a.conf", "AllowOverride None\n")).replace(
        "  (*) /a.conf", "  (*) /a.conf\n    (3) /b.conf")
    assert ac.parse(text).unread == ["/b.conf"]


# -- the checks ---------------------------------------------------------------------------

WEB = {"userdir": {"enabled": False},
       "allow_override": {"allowed": ["None"], "set_to": "None", "files": [SHOP]}}


def run(name, cfg, web=WEB):
    return checkrun.run_check("web", name, {"web": web}, apache_config=cfg)


def test_userdir_off_by_default_fails_where_debian_userdir_conf_serves():
    assert run("test_userdir", STOCK)[0] == "passed"
    outcome, message, evidence = run("test_userdir", BROKEN)
    assert outcome == "failed" and evidence.severity == "medium"
    assert "UserDir public_html (/etc/apache2/mods-available/userdir.conf:1)" in message
    assert evidence["module_loaded"] is True and evidence["disabled_for"] == ["root"]


def test_userdir_enabled_needs_the_module_and_never_serves_root():
    on = {"userdir": {"enabled": True}}
    assert run("test_userdir", BROKEN, on)[0] == "passed"
    outcome, message, _ = run("test_userdir", STOCK, on)
    assert outcome == "failed" and "not loaded" in message
    root = ac.parse(frame(("/a.conf", "UserDir public_html\n")))
    outcome, message, evidence = run("test_userdir", root, on)
    assert "root's home directory" in message and evidence.severity == "high"


def test_allow_override_lists_each_granting_line():
    assert run("test_allow_override", STOCK)[0] == "passed"
    outcome, message, evidence = run("test_allow_override", BROKEN)
    assert outcome == "failed" and message.startswith("3 AllowOverride beyond None: ")
    assert f"{SHOP}:6: AllowOverride All in <Directory /srv/shop>" in message
    assert [g["where"] for g in evidence["granting"]][1] == f"{SHOP}:6"


def test_not_applicable_without_apache_or_when_off():
    none = ac.parse(M + "tool none\n" + ac.END + "\n")
    assert run("test_userdir", none)[:2] == ("skipped", "Apache is not installed")
    assert run("test_allow_override", STOCK, {"allow_override": None})[0] == "skipped"


# -- the fix ------------------------------------------------------------------------------


def state(text):
    if text is None:
        return FileState(exists=False)
    return FileState(True, 0o644, "root", "root", base64.b64encode(text.encode()).decode())


SHOP_TEXT = ("<VirtualHost *:80>\n\t<Directory \"/srv/shop\">\n\t\tAllowOverride \\\n"
             "\t\t\tAll\n\t\tRequire all granted\n\t</Directory>\n</VirtualHost>\n")
SHOP_CFG = ac.parse(frame((SHOP, SHOP_TEXT)))


def plan(web=WEB, cfg=SHOP_CFG, text=SHOP_TEXT):
    facts = checkrun.Facts(apache_config=cfg, file=state(text))
    return lookup("web.allow_override")(PlanContext("web.allow_override", "web1",
                                                    {"web": web}, facts))


def test_the_plan_sets_the_line_validates_then_reloads():
    p = plan()
    write, check, reload = p.actions
    assert isinstance(write, WriteFile) and write.path == SHOP
    assert write.content.decode() == SHOP_TEXT.replace("AllowOverride \\\n\t\t\tAll",
                                                       "AllowOverride None")
    assert isinstance(check, RunCommand) and check.command.render() == "apache2ctl -t"
    assert reload.command.render() == "apache2ctl graceful"
    assert [a.command.render() for a in p.on_rollback] == ["apache2ctl -t",
                                                           "apache2ctl graceful"]


@pytest.mark.parametrize("web, reason", [
    ({"allow_override": {"allowed": ["None"]}}, "declare web.allow_override.files"),
    ({"allow_override": {"files": ["/etc/a.conf"], "set_to": "None\nInclude /x"}},
     "web.allow_override.set_to"),
    ({"allow_override": {"files": ["-rf"]}}, "absolute path"),
    ({"allow_override": {"files": [SHOP], "set_to": "All"}}, "grants more than"),
    ({"allow_override": {"files": ["/etc/apache2/other.conf"]}}, "does not declare"),
])
def test_the_plan_refuses_what_it_must_not_do(web, reason):
    p = plan(web)
    assert p.refused and reason in p.reason, p.reason


def test_the_plan_refuses_a_file_gone_or_changed_since():
    assert "does not exist" in plan(text=None).reason
    assert "not installed" in plan(cfg=ac.parse(M + "tool none\n" + ac.END + "\n")).reason


def test_set_lines_keeps_every_other_byte():
    text = "a\n  AllowOverride \\\n All\nb\r\n"
    assert set_lines(text, {(2, 3): "AllowOverride None"}) == "a\n  AllowOverride None\nb\r\n"


@pytest.mark.parametrize("value, ok", [
    ("None", "None"), ("fileinfo authconfig", "FileInfo AuthConfig"), ("All", "All"),
    ("None FileInfo", None), ("", None), ("Options=ExecCGI", None), ("-None", None)])
def test_override_value(value, ok):
    if ok is None:
        with pytest.raises(values.UnsafeValue):
            override_value(value)
    else:
        assert override_value(value) == ok
