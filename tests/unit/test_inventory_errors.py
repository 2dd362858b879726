"""Every inventory fleetcheck refuses: one line, '<file>:<line>: <what is wrong>'."""

import os
import textwrap

import pytest

from fleetcheck.inventory import InventoryError, load
from fleetcheck.inventory import loader


def write(tmp_path, text, name="inv.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def error_of(*paths):
    with pytest.raises(InventoryError) as info:
        load(list(paths))
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    return message


# -- the file itself -------------------------------------------------------------


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.yml")
    assert error_of(path) == f"{path}: no such file"


def test_empty_directory(tmp_path):
    # a directory is an inventory source (every file in it, as Ansible reads it)
    (tmp_path / ".hidden.yml").write_text("all:\n")
    (tmp_path / "README.md").write_text("notes\n")
    assert error_of(str(tmp_path)) == (
        f"{tmp_path}: the inventory directory holds no inventory file (hidden files, "
        "group_vars/, host_vars/ and the ignored extensions are skipped)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file anyway")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, "all:\n")
    os.chmod(path, 0)
    assert error_of(path) == f"{path}: cannot read the file: permission denied"


def test_unreadable_file_as_root(tmp_path, monkeypatch):
    # Stand-in for the test above when running as root (mode 000 does not stop root):
    # open() is made to fail the way it fails for a non-root user.
    path = write(tmp_path, "all:\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(loader, "open", denied, raising=False)
    assert error_of(path) == f"{path}: cannot read the file: permission denied"


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"all:\n  vars:\n    city: Z\xfcrich\n")
    assert error_of(str(path)) == f"{path}:3: not UTF-8 text (byte 24)"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    assert error_of(path) == (
        f"{path}: the file is empty (expected a mapping of groups, like 'all:')"
    )


def test_top_level_list(tmp_path):
    path = write(tmp_path, """
        # hosts as a list
        - web1
        - web2
        """)
    assert error_of(path) == (
        f"{path}:2: the top level must be a mapping of groups (like 'all:'), got a list"
    )


def test_top_level_scalar(tmp_path):
    path = write(tmp_path, "--- web1\n")
    assert error_of(path) == (
        f"{path}:1: the top level must be a mapping of groups (like 'all:'), got a string 'web1'"
    )


def test_a_bare_name_is_an_ini_host(tmp_path):
    # Ansible's YAML plugin refuses it, its INI plugin reads a host: so does fleetcheck
    path = write(tmp_path, "web1\n")
    assert list(load([path]).hosts) == ["web1"]


# -- YAML syntax -------------------------------------------------------------------


def test_yaml_bad_indentation(tmp_path):
    path = write(tmp_path, """
        all:
          hosts:
            web1:
              ansible_host: 10.0.0.1
             bad: indent
        """)
    assert error_of(path) == (
        f"{path}:5: YAML syntax error: while parsing a block mapping: "
        "expected <block end>, but found '<block mapping start>'"
    )


def test_yaml_tab(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n\tweb1:\n")
    assert error_of(path) == (
        f"{path}:3: YAML syntax error: while scanning for the next token: "
        "found character '\\t' that cannot start any token"
    )


def test_yaml_unterminated_quote(tmp_path):
    path = write(tmp_path, 'all:\n  vars:\n    motd: "hello\n')
    message = error_of(path)
    assert message.startswith(f"{path}:4: YAML syntax error: while scanning a quoted scalar")


def test_yaml_two_documents(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n---\nweb:\n")
    assert error_of(path) == (
        f"{path}:3: YAML syntax error: expected a single document in the stream: "
        "but found another document"
    )


def test_yaml_control_character(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    x: a\x01b\n")
    assert error_of(path) == f"{path}:3: YAML syntax error: unacceptable character #x0001"


def test_ini_inventory_is_read_as_ini(tmp_path):
    # (it was refused with a hint that it looks like INI before INI was read)
    path = write(tmp_path, "[web]\nweb1\nweb2\n", name="hosts.ini")
    assert load([path]).group_hosts("web") == ["web1", "web2"]


def test_inventory_plugin_config(tmp_path):
    from fleetcheck.inventory import SourceOptions

    path = write(tmp_path, "plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n")
    with pytest.raises(InventoryError) as info:
        load([path], SourceOptions(engine="native"))
    assert str(info.value) == (
        f"{path}: is an Ansible inventory plugin configuration (plugin: amazon.aws.aws_ec2): "
        "fleetcheck does not read it itself; --inventory-engine auto or ansible reads it "
        "through ansible-inventory (ansible-core and the collection amazon.aws: pip "
        "install ansible-core && ansible-galaxy collection install amazon.aws)")
    # Ansible's auto plugin takes .yml/.yaml only: in a .json file it is no plugin
    # configuration, and its YAML plugin refuses it
    path = write(tmp_path, '{"plugin": "amazon.aws.aws_ec2"}\n', name="inv.json")
    assert error_of(path) == (
        f"{path}:1: 'plugin:' marks an Ansible inventory plugin configuration, "
        "not a YAML inventory (fleetcheck reads YAML inventories only)"
    )


def test_duplicate_key(tmp_path):
    path = write(tmp_path, """
        all:
          hosts:
            web1:
              ansible_host: 10.0.0.1
            web1:
        """)
    assert error_of(path) == f"{path}:5: duplicate key 'web1' (first at line 3)"


# -- wrong types -------------------------------------------------------------------

WRONG_TYPES = [
    (
        "hosts as a list",
        """
        all:
          children:
            web:
              hosts:
                - web1
                - web2
        """,
        4,
        "hosts of group 'web' must be a mapping of host names ('name:' each on its own line), "
        "got a list",
    ),
    (
        "hosts as a string",
        """
        all:
          hosts: web1
        """,
        2,
        "hosts of group 'all' must be a mapping of host names ('name:' each on its own line), "
        "got a string 'web1'",
    ),
    (
        "group vars as a list",
        """
        all:
          children:
            web:
              vars:
                - http_port: 80
        """,
        4,
        "vars of group 'web' must be a mapping, got a list",
    ),
    (
        "children as a list",
        """
        all:
          children:
            - web
            - db
        """,
        2,
        "children of group 'all' must be a mapping of group names, got a list",
    ),
    (
        "group as a list",
        """
        all:
          children:
            web:
              - web1
        """,
        3,
        "group 'web' must be a mapping with hosts, vars or children, got a list",
    ),
    (
        "top-level group as a scalar",
        """
        all:
          hosts:
            web1:
        web: web1
        """,
        4,
        "group 'web' must be a mapping with hosts, vars or children, got a string 'web1'",
    ),
    (
        "host vars as a scalar",
        """
        all:
          hosts:
            web1: 10.0.0.1
        """,
        3,
        "vars of host 'web1' must be a mapping, got a string '10.0.0.1'",
    ),
    (
        "host vars as a list",
        """
        all:
          hosts:
            web1:
              - ansible_host: 10.0.0.1
        """,
        3,
        "vars of host 'web1' must be a mapping, got a list",
    ),
    (
        "host name as a list",
        """
        all:
          hosts:
            ? [web1, web2]
            : {}
        """,
        3,
        "a host name must be a string, got a list",
    ),
]


@pytest.mark.parametrize("text,line,reason", [c[1:] for c in WRONG_TYPES],
                         ids=[c[0] for c in WRONG_TYPES])
def test_wrong_types(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}:{line}: {reason}"


# -- connection variables ----------------------------------------------------------

BAD_VARS = [
    ("port name", "ansible_port: ssh", "ansible_port: expected a port number 1-65535, got 'ssh'"),
    ("port zero", "ansible_port: 0", "ansible_port: expected a port number 1-65535, got 0"),
    ("port too big", "ansible_port: 70000",
     "ansible_port: expected a port number 1-65535, got 70000"),
    ("port string too big", 'ansible_port: "65536"',
     "ansible_port: expected a port number 1-65535, got 65536"),
    ("port bool", "ansible_port: true",
     "ansible_port: expected a port number 1-65535, got a boolean True"),
    ("port float", "ansible_port: 22.5",
     "ansible_port: expected a port number 1-65535, got a number 22.5"),
    ("old port name", "ansible_ssh_port: ssh",
     "ansible_ssh_port: expected a port number 1-65535, got 'ssh'"),
    ("host int", "ansible_host: 1234",
     "ansible_host: the value must be a string, got an integer 1234"),
    ("host list", "ansible_host: [a, b]",
     "ansible_host: the value must be a string, got a list ['a', 'b']"),
    ("host empty", 'ansible_host: ""', "ansible_host: the value must not be empty"),
    ("user int", "ansible_user: 0", "ansible_user: the value must be a string, got an integer 0"),
    ("host option", 'ansible_host: "-oProxyCommand=touch /tmp/x"',
     "ansible_host: the value must not start with '-' (a command would read it as an option): "
     "'-oProxyCommand=touch /tmp/x'"),
    ("become user option", 'ansible_become_user: "--command=touch /tmp/x"',
     "ansible_become_user: the value must not start with '-' (a command would read it as an "
     "option): '--command=touch /tmp/x'"),
    ("become user dash", 'ansible_become_user: "-"',
     "ansible_become_user: the value must not start with '-' (a command would read it as an "
     "option): '-'"),
    ("become user short option", 'ansible_become_user: "-ctouch /tmp/x"',
     "ansible_become_user: the value must not start with '-' (a command would read it as an "
     "option): '-ctouch /tmp/x'"),
    ("user with a space", 'ansible_user: "root x"',
     "ansible_user: the value must be a user name (letters, digits, '.', '_', '-', '@'), "
     "got 'root x'"),
    ("key file option", 'ansible_ssh_private_key_file: "-oProxyCommand=x"',
     "ansible_ssh_private_key_file: the value must not start with '-' (a command would read "
     "it as an option): '-oProxyCommand=x'"),
    ("lock dir relative", "fleetcheck_lock_dir: run/lock",
     "fleetcheck_lock_dir: the value must be an absolute path, got 'run/lock'"),
    ("timeout word", "fleetcheck_command_timeout: soon",
     "fleetcheck_command_timeout: expected a number of seconds, got 'soon'"),
    ("timeout list", "fleetcheck_command_timeout: []",
     "fleetcheck_command_timeout: expected a number of seconds, got a list []"),
    ("timeout zero", "fleetcheck_connect_timeout: 0",
     "fleetcheck_connect_timeout: expected seconds above 0 and at most 86400, got 0"),
    ("jump host option", 'fleetcheck_proxy_jump: "bob@-oProxyCommand=x"',
     "fleetcheck_proxy_jump: the jump host must not start with '-' (a command would read it "
     "as an option): '-oProxyCommand=x'"),
    ("service option", "services: [ssh, --help]",
     "services[1]: the value must not start with '-' (a command would read it as an option): "
     "'--help'"),
    ("service dots", "services: [..]",
     "services[0]: the value must be a service name (letters, digits, '.', '-', '_', '@', ':'), "
     "got '..'"),
    ("sysctl key newline", 'sysctl: {"net.ipv4.ip_forward\\n": 1}',
     "sysctl key 'net.ipv4.ip_forward\\n': the value contains a line break or control "
     "character: 'net.ipv4.ip_forward\\n'"),
    ("sysctl key option", 'sysctl: {"-e": 1}',
     "sysctl key '-e': the value must not start with '-' (a command would read it as an "
     "option): '-e'"),
    ("dns slave option", "dns: {slaves: [ns2, -x]}",
     "dns.slaves[1]: the value must not start with '-' (a command would read it as an "
     "option): '-x'"),
    ("long value cut", "ansible_host: " + "-" + "a" * 200_000,
     "ansible_host: the value is longer than 255 characters (200001)"),
    ("become word", "ansible_become: maybe",
     "ansible_become: expected a boolean (true/false, yes/no), got a string 'maybe'"),
    ("become number", "ansible_become: 2",
     "ansible_become: expected a boolean (true/false, yes/no), got an integer 2"),
    # a connection fleetcheck does not run refuses the host, not the inventory
    # (test_inventory_refusals.py); what is no plugin name at all is an error
    ("connection", "ansible_connection: 'ssh -o ProxyCommand=x'",
     "ansible_connection: connection 'ssh -o ProxyCommand=x' is not an Ansible plugin name "
     "(fleetcheck runs: ssh, paramiko, local, smart)"),
    ("connection list", "ansible_connection: [ssh]",
     "ansible_connection: connection ['ssh'] is not an Ansible plugin name "
     "(fleetcheck runs: ssh, paramiko, local, smart)"),
    ("become method", "ansible_become_method: 'sudo -s'",
     "ansible_become_method: become method 'sudo -s' is not an Ansible plugin name "
     "(fleetcheck runs: sudo, su)"),
    ("group priority", "ansible_group_priority: high",
     "ansible_group_priority: expected an integer, got 'high'"),
]


@pytest.mark.parametrize("assignment,reason", [c[1:] for c in BAD_VARS],
                         ids=[c[0] for c in BAD_VARS])
def test_bad_host_var(tmp_path, assignment, reason):
    path = write(tmp_path, f"""
        all:
          hosts:
            web1:
              fleetcheck_note: ok
              {assignment}
        """)
    assert error_of(path) == f"{path}:5: host 'web1': {reason}"


@pytest.mark.parametrize("assignment,reason", [c[1:] for c in BAD_VARS[:3]],
                         ids=[c[0] for c in BAD_VARS[:3]])
def test_bad_group_var(tmp_path, assignment, reason):
    path = write(tmp_path, f"""
        all:
          children:
            web:
              vars:
                {assignment}
        """)
    assert error_of(path) == f"{path}:5: group 'web': {reason}"


def test_bad_port_in_host_key(tmp_path):
    path = write(tmp_path, """
        all:
          hosts:
            web1:2222:
            web2:0:
        """)
    assert error_of(path) == (
        f"{path}:4: host 'web2:0': ansible_port: expected a port number 1-65535, got 0"
    )


@pytest.mark.parametrize("value", ["2222", " 2222 ", "22", "65535", "1"])
def test_numeric_string_port_is_accepted(tmp_path, value):
    path = write(tmp_path, f'all:\n  hosts:\n    web1:\n      ansible_port: "{value}"\n')
    assert load([path]).hosts["web1"].port == int(value)


@pytest.mark.parametrize("value,expected", [
    ("yes", True), ("no", False), ('"yes"', True), ('"no"', False), ("true", True),
    ('"True"', True), ('"false"', False), ("on", True), ("off", False), ("1", True),
    ("0", False), ('"y"', True), ('"n"', False), ('"t"', True), ('"f"', False),
])
def test_become_values_as_ansible_reads_them(tmp_path, value, expected):
    path = write(tmp_path, f"all:\n  hosts:\n    web1:\n      ansible_become: {value}\n")
    assert load([path]).hosts["web1"].become is expected


# -- host ranges -------------------------------------------------------------------

BAD_RANGES = [
    ("web[05:01]", "host range '[05:01]' in 'web[05:01]' expands to nothing "
                   "(start 05 is after end 01)"),
    ("db-[c:a]", "host range '[c:a]' in 'db-[c:a]' expands to nothing "
                 "(start 'c' is after end 'a')"),
    ("web[1:", "unterminated host range in 'web[1:' (missing ']')"),
    ("web[a:3]", "malformed host range '[a:3]' in 'web[a:3]': start and end must both be "
                 "numbers (01:20) or both single letters (a:f)"),
    ("web[1:3:0]", "malformed host range '[1:3:0]' in 'web[1:3:0]': step must be a positive "
                   "integer, got '0'"),
    ("web[1:3:x]", "malformed host range '[1:3:x]' in 'web[1:3:x]': step must be a positive "
                   "integer, got 'x'"),
    ("web[1]", "malformed host range '[1]' in 'web[1]' (expected [start:end] or "
               "[start:end:step])"),
    ("web[1:]", "malformed host range '[1:]' in 'web[1:]': no end value"),
    ("web[01:100]", "malformed host range '[01:100]' in 'web[01:100]': a zero-padded range "
                    "needs start and end of the same width"),
    ("web1]", "unmatched ']' in host name 'web1]'"),
    ("web[[1:2]]", "nested '[' in host range of 'web[[1:2]]'"),
    ("h[0:999][0:999]", "host pattern 'h[0:999][0:999]' expands to 1000000 hosts "
                        "(more than 100000)"),
]


@pytest.mark.parametrize("pattern,reason", BAD_RANGES, ids=[c[0] for c in BAD_RANGES])
def test_bad_range(tmp_path, pattern, reason):
    path = write(tmp_path, f"""
        all:
          hosts:
            ok1:
            "{pattern}":
        """)
    assert error_of(path) == f"{path}:4: {reason}"


# -- group structure ---------------------------------------------------------------


def test_cycle_through_children(tmp_path):
    path = write(tmp_path, """
        all:
          children:
            a:
              children:
                b:
                  children:
                    a:
        """)
    assert error_of(path) == f"{path}:7: group 'a' is its own ancestor: a -> b -> a"


def test_group_its_own_child(tmp_path):
    path = write(tmp_path, """
        loop:
          children:
            loop:
        """)
    assert error_of(path) == f"{path}:3: group 'loop' is its own ancestor: loop -> loop"


def test_cycle_across_files(tmp_path):
    first = write(tmp_path, """
        all:
          children:
            a:
              children:
                b:
                  children:
                    c:
        """, name="one.yml")
    second = write(tmp_path, """
        # c closes the loop
        c:
          children:
            a:
        """, name="two.yml")
    message = error_of(first, second)
    assert message == f"{second}:4: group 'a' is its own ancestor: a -> b -> c -> a"


def test_all_cannot_be_a_child(tmp_path):
    path = write(tmp_path, """
        web:
          children:
            all:
        """)
    assert error_of(path) == f"{path}:3: group 'all' cannot be a child of group 'web'"


@pytest.mark.parametrize("typo", ["host", "Hosts", "var", "child", "groups", "ansible_host"])
def test_unknown_key_in_group(tmp_path, typo):
    path = write(tmp_path, f"""
        all:
          children:
            web:
              vars:
                http_port: 80
              {typo}:
                web1:
        """)
    assert error_of(path) == (
        f"{path}:6: unknown key '{typo}' in group 'web' (expected hosts, vars, children)"
    )


def test_unknown_key_in_all(tmp_path):
    path = write(tmp_path, "all:\n  hosts:\n    web1:\n  host:\n    web2:\n")
    assert error_of(path) == (
        f"{path}:4: unknown key 'host' in group 'all' (expected hosts, vars, children)"
    )


def test_error_names_the_file_it_is_in(tmp_path):
    good = write(tmp_path, "all:\n  hosts:\n    web1:\n", name="good.yml")
    bad = write(tmp_path, "all:\n  hosts:\n    web2:\n      ansible_port: ssh\n", name="bad.yml")
    assert error_of(good, bad) == (
        f"{bad}:4: host 'web2': ansible_port: expected a port number 1-65535, got 'ssh'"
    )


def test_no_file_given():
    assert error_of() == "no inventory file given"


def test_message_stays_on_one_line_with_odd_names(tmp_path):
    path = write(tmp_path, 'all:\n  hosts:\n    "web\\n1":\n      ansible_port: "2\\n2"\n')
    message = error_of(path)
    assert message.startswith(f"{path}:4: host 'web\\n1': ansible_port:")


def test_error_parts_and_pickling(tmp_path):
    import pickle

    path = write(tmp_path, "all:\n  hosts: [a]\n")
    with pytest.raises(InventoryError) as info:
        load([path])
    error = info.value
    assert (error.file, error.line) == (path, 2)
    assert error.reason.startswith("hosts of group 'all' must be a mapping")
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_vault_value_as_connection_var(tmp_path):
    path = write(tmp_path, """
        all:
          hosts:
            h1:
              ansible_user: !vault |
                $ANSIBLE_VAULT;1.1;AES256
                313233
        """)
    assert error_of(path) == (
        f"{path}:4: host 'h1': ansible_user: the value must be a string, "
        "got an Ansible vault value (fleetcheck cannot decrypt it)"
    )


def test_unknown_yaml_tag(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    x: !custom 1\n")
    assert error_of(path) == (
        f"{path}:3: YAML value error: could not determine a constructor for the tag '!custom'"
    )


@pytest.mark.parametrize("text,line,reason", [
    ('all:\n  hosts:\n    "":\n', 3, "a host name must not be empty"),
    ("all:\n  hosts:\n    ~:\n", 3, "a host name must be a string, got null"),
    ("all:\n  children:\n    ? [a]\n    : {}\n", 3, "a group name must be a string, got a list"),
    ("all:\n  vars:\n    ? {a: 1}\n    : 1\n", 3, "a variable name must be a string, got a mapping"),
    ("? [a]\n: {}\n", 1, "a group name must be a string, got a list"),
])
def test_bad_names(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}:{line}: {reason}"


@pytest.mark.parametrize("assignment,reason", [
    ('ansible_become: "{{ become }}"',
     "ansible_become: expected a boolean (true/false, yes/no), got a string '{{ become }}' "
     "(it holds a Jinja template, '{{ become }}': fleetcheck evaluates none; set the value "
     "itself)"),
    ('capacity: {disk: {usage_pct: "{{ disk_pct }}"}}',
     "capacity.disk.usage_pct: expected {warn, crit} (each a number or a Nagios range), got "
     "a string '{{ disk_pct }}' (it holds a Jinja template, '{{ disk_pct }}': fleetcheck "
     "evaluates none; set the value itself)"),
], ids=["boolean", "threshold"])
def test_a_templated_value_that_is_wrong_says_it_is_templated(tmp_path, assignment, reason):
    path = write(tmp_path, f"""
        all:
          hosts:
            web1:
              {assignment}
        """)
    assert error_of(path) == f"{path}:4: host 'web1': {reason}"


def test_a_templated_connection_var_refuses_the_host_not_the_inventory(tmp_path):
    path = write(tmp_path, """
        all:
          hosts:
            web1: {ansible_port: "{{ port }}x"}
            web2: {}
        """)
    hosts = load([path]).hosts
    assert hosts["web1"].refused.startswith("ansible_port is templated ('{{ port }}x')")
    assert hosts["web2"].refused is None
