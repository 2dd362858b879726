"""samba.shares: restore each declared share that is missing or differs (path, read
only, guest ok) in smb.conf from the inventory's declaration, validate with testparm
BEFORE smbd re-reads it (a failed validation restores the file), then reload smbd, or
start it when it is stopped.

A share open to guests for writing that the inventory does not declare has nothing
to be restored from: the fix is refused and says so. A declared path that does not
exist is not created (its owner and mode are the admin's call): refused too.

Every declared value is checked again with its kind (fleetcheck.facts.smbconf: share
name, path, booleans), and the new smb.conf is read back (the re-parse guard,
fleetcheck.remediation.edit.verify): [global] and every other share exactly as
before, each restored share with its other parameters kept and the declared ones
(no synonym left to contradict them); else the fix is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fleetcheck import values
from fleetcheck.facts import smbconf
from fleetcheck.facts.base import Command, ParseError
from fleetcheck.facts.smbconf import parse as parse_smbconf
from fleetcheck.remediation import RunCommand, Service, WriteFile, fix, refuse
from fleetcheck.remediation.edit import declared_problem, not_utf8, unsafe, verify

SMB_CONF = "/etc/samba/smb.conf"
HEADER = re.compile(r"^\s*\[([^\]]+)\]\s*$")
SYNONYMS = {"path": {"path", "directory"},
            "read only": {"read only", "writable", "writeable", "write ok"},
            "guest ok": {"guest ok", "public"}}
# testparm exits 0 on unknown parameters: its diagnostics decide as well
VALIDATE = r"""out=$(testparm -s 2>&1 >/dev/null); rc=$?
printf '%s\n' "$out" >&2
[ "$rc" -eq 0 ] || exit "$rc"
! printf '%s\n' "$out" | grep -Eiq 'unknown parameter|ignoring|error'
"""


def _yes(value) -> str:
    return "yes" if value else "no"


def wanted_params(want: dict) -> dict[str, str]:
    params = {"path": str(want["path"])}
    if "read_only" in want:
        params["read only"] = _yes(want["read_only"])
    if "guest_ok" in want:
        params["guest ok"] = _yes(want["guest_ok"])
    return params


def share_matches(conf, want: dict) -> bool:
    have = conf.share(str(want["name"]))
    return bool(have and have.path == str(want["path"])
                and ("read_only" not in want or have.read_only == bool(want["read_only"]))
                and ("guest_ok" not in want or have.guest_ok == bool(want["guest_ok"])))


def set_share(text: str, want: dict) -> str:
    """smb.conf with share [name] holding the declared parameters (pure)."""
    name = str(want["name"])
    params = wanted_params(want)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, ln in enumerate(lines) if (m := HEADER.match(ln))
                  and m.group(1).strip().lower() == name.lower()), None)
    block = [f"\t{k} = {v}\n" for k, v in params.items()]
    if start is None:
        return "".join(lines) + f"\n[{name}]\n" + "".join(block)
    end = next((i for i in range(start + 1, len(lines)) if HEADER.match(lines[i])),
               len(lines))
    drop = set().union(*(SYNONYMS[k] for k in params))
    body = [ln for ln in lines[start + 1:end]
            if " ".join(ln.split("=", 1)[0].lower().split()) not in drop or "=" not in ln]
    return "".join(lines[:start + 1] + block + body + lines[end:])


def smb_model(text: str) -> dict[str, dict[str, str]]:
    """smb.conf as the guard compares it: every section's parameters."""
    conf = parse_smbconf(text)
    model = {"[global]": dict(conf.globals)}
    for share in conf.shares:
        model[f"[{share.name.lower()}]"] = dict(share.params)
    return model


def smb_intended(changed: list[dict]):
    def expected(old: dict) -> dict:
        new = dict(old)
        for want in changed:
            key = f"[{str(want['name']).lower()}]"
            params = wanted_params(want)
            drop = set().union(*(SYNONYMS[k] for k in params))
            new[key] = {k: v for k, v in old.get(key, {}).items() if k not in drop} | params
        return new
    return expected


def _declared(ctx) -> tuple[list[dict] | None, str | None]:
    """The declared shares, each value checked again with its kind; or the reason."""
    samba = ctx.vars.get("samba")
    if not isinstance(samba, Mapping):
        return None, f"the var samba must be a mapping, got {values.describe(samba)}"
    why = declared_problem("samba", samba, smbconf.VALUE_KINDS)
    if why:
        return None, why
    declared = [s for s in samba.get("shares") or [] if isinstance(s, dict) and s.get("name")]
    seen = set()
    for n, want in enumerate(declared):
        where = f"samba.shares[{n}]"
        if not want.get("path"):
            return None, f"share {want['name']} declares no path"
        why = unsafe([(smbconf.share_name, want["name"], f"{where}.name"),
                      (smbconf.share_path, want["path"], f"{where}.path"),
                      *[(values.boolean, want[k], f"{where}.{k}")
                        for k in ("read_only", "guest_ok", "allow_guest_write") if k in want]])
        if why:
            return None, why
        name = str(want["name"]).lower()
        if name in seen:
            return None, f"{where}: share {want['name']} is declared twice"
        seen.add(name)
    return declared, None


@fix("samba.shares")
def plan_samba(ctx):
    """Restore each declared share that is missing or differs in `smb.conf` from its
    declaration, validate with `testparm -s` (unknown parameters count), then
    `smbcontrol smbd reload-config`; start smbd when it is stopped. An undeclared guest-
    writable share or a missing share path is refused."""
    declared, why = _declared(ctx)
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    samba = ctx.vars["samba"]
    conf_path = str(samba.get("config") or SMB_CONF)
    service = str(samba.get("service") or "smbd")
    why = unsafe([(values.path, conf_path, "samba.config"),
                  (values.unit, service, "samba.service")])
    if why:
        return refuse(ctx.check_id, ctx.host, why)
    current = ctx.facts.get("file", path=conf_path)
    if not current.exists:
        return refuse(ctx.check_id, ctx.host, f"{conf_path} does not exist")
    if not_utf8(conf_path, current):
        return refuse(ctx.check_id, ctx.host, not_utf8(conf_path, current))
    try:
        raw = parse_smbconf(current.text)
    except ParseError as exc:
        return refuse(ctx.check_id, ctx.host, f"{conf_path} cannot be read: {exc}")
    allowed = {str(s["name"]).lower() for s in declared if s.get("allow_guest_write")}
    names = {str(s["name"]).lower() for s in declared}
    open_undeclared = [s.name for s in raw.shares if s.guest_ok and not s.read_only
                       and s.name.lower() not in names | allowed]
    if open_undeclared:
        return refuse(ctx.check_id, ctx.host, f"share(s) {', '.join(open_undeclared)} are "
                      "writable by guests and not declared: nothing to restore them from")
    open_declared = [str(s["name"]) for s in declared if s.get("guest_ok")
                     and s.get("read_only") is False and str(s["name"]).lower() not in allowed]
    if open_declared:
        return refuse(ctx.check_id, ctx.host, "the inventory itself declares "
                      f"{', '.join(open_declared)} writable by guests without "
                      "allow_guest_write: fix the inventory")
    wanted_paths = tuple(sorted({str(s["path"]) for s in declared}))
    kinds = ctx.facts.get("paths", paths=wanted_paths).kinds
    missing = [str(s["path"]) for s in declared if kinds.get(str(s["path"])) != "dir"]
    if missing:
        return refuse(ctx.check_id, ctx.host, f"share path(s) {', '.join(missing)} do not exist: "
                      "create them with the right owner and mode first")
    changed = [s for s in declared if not share_matches(raw, s)]
    after = current.text
    for want in changed:
        after = set_share(after, want)
    actions = []
    if after != current.text:
        why = verify(smb_model, current.text, after, smb_intended(changed), what=conf_path)
        if why:
            return refuse(ctx.check_id, ctx.host, why)
        names = ", ".join(str(s["name"]) for s in changed)
        actions += [WriteFile(f"restore share(s) {names} in {conf_path}",
                              path=conf_path, content=after.encode(), before=current.content),
                    RunCommand("validate with testparm -s", command=Command("sh -c %s", VALIDATE))]
    running = ctx.facts.get("service", name=service).running
    undo = []
    if not running:
        actions.append(Service(f"start {service}", name=service, operation="start"))
        undo.append(Service(f"stop {service} (it was stopped before the fix)",
                            name=service, operation="stop"))
    elif actions:
        actions.append(RunCommand(f"reload {service} (smbcontrol reload-config)",
                                  command=Command("smbcontrol smbd reload-config")))
        undo += [RunCommand("validate the restored file with testparm -s",
                            command=Command("sh -c %s", VALIDATE)),
                 RunCommand(f"reload {service} from the restored file (smbcontrol "
                            "reload-config)", command=Command("smbcontrol smbd reload-config"))]
    return ctx.plan(*actions, reason=f"{conf_path} matches the declaration and {service} runs"
                    ).after_restore(*undo)
