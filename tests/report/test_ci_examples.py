"""docs/ci: the GitHub Actions workflow and the GitLab CI job are valid for their CI
(YAML, and the schemas check-jsonschema ships for both), gate on --fail-on high, keep
the reports as artifacts, and the command they run is a real fleetcheck invocation:
it is run here, as written, on a one-host local:// inventory at the path it names."""

import json
import shlex
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci"
FILES = {"github": DOCS / "github-actions.yml", "gitlab": DOCS / "gitlab-ci.yml"}
SCHEMAS = {"github": "github-workflows.json", "gitlab": "gitlab-ci.json"}


def schema(name: str) -> dict:
    vendor = resources.files("check_jsonschema") / "builtin_schemas" / "vendor"
    return json.loads((vendor / name).read_text(encoding="utf-8"))


def commands(kind: str, doc: dict) -> list[str]:
    if kind == "github":
        steps = [s for job in doc["jobs"].values() for s in job["steps"]]
        lines = [line for s in steps for line in str(s.get("run", "")).splitlines()]
    else:
        lines = [line for job in doc.values() if isinstance(job, dict)
                 for line in job.get("script", [])]
    return [line for line in lines if "pytest" in line]


@pytest.mark.parametrize("kind", list(FILES))
def test_valid_yaml_and_schema(kind):
    # GitHub's "on:" is YAML 1.1's boolean True to PyYAML; the schema wants the key "on".
    doc = yaml.safe_load(FILES[kind].read_text())
    if kind == "github" and True in doc:
        doc["on"] = doc.pop(True)
    validator = jsonschema.validators.validator_for(schema(SCHEMAS[kind]))
    errors = list(validator(schema(SCHEMAS[kind])).iter_errors(doc))
    assert not errors, [e.message for e in errors][:3]


@pytest.mark.parametrize("kind", list(FILES))
def test_gates_on_high_and_keeps_reports(kind):
    doc = yaml.safe_load(FILES[kind].read_text())
    (command,) = commands(kind, doc)
    args = shlex.split(command)
    assert args[args.index("--fail-on") + 1] == "high"
    text = FILES[kind].read_text()
    if kind == "github":
        assert "actions/upload-artifact" in text and "if: always()" in text
    else:
        job = doc["fleetcheck"]
        assert job["artifacts"]["when"] == "always"
        assert "reports/" in job["artifacts"]["paths"]


@pytest.mark.parametrize("kind", list(FILES))
def test_command_is_a_real_fleetcheck_invocation(kind, pytester):
    doc = yaml.safe_load(FILES[kind].read_text())
    (command,) = commands(kind, doc)
    args = shlex.split(command)
    assert Path(args[0]).name == "pytest"
    args = args[1:]
    if "-n" in args:
        args[args.index("-n") + 1] = "2"
    inventory = args[args.index("--inventory") + 1]
    (pytester.path / inventory).parent.mkdir(parents=True, exist_ok=True)
    (pytester.path / inventory).write_text("all:\n  hosts:\n    a: {ansible_connection: local}\n")
    checks = pytester.mkdir("checks")
    (checks / "test_demo.py").write_text(
        "import pytest\n"
        "@pytest.mark.check('demo.low', severity='low')\n"
        "def test_low(host):\n    assert False, 'a low finding'\n"
        "@pytest.mark.check('demo.high', severity='high')\n"
        "def test_high(host):\n    pass\n")
    pytester.makeini("[pytest]\ntestpaths = checks\n")
    res = pytester.runpytest(*args)
    assert res.ret == 0, "a low finding must not fail a --fail-on high gate"
    res.assert_outcomes(passed=1, failed=1)
    assert (pytester.path / "reports" / "last" / "report.html").is_file()
    for option in ("--sarif", "--junitxml", "--prometheus"):
        if option in args:
            assert (pytester.path / args[args.index(option) + 1]).is_file(), option
