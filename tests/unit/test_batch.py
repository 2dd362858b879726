"""Several commands in one (fleetcheck.connect.batch), run by the real /bin/sh of this
machine: each command's output, error output and exit status come back exactly as
when it runs alone."""

import subprocess

import pytest

from fleetcheck.connect import batch

COMMANDS = [
    "echo hi",
    "printf 'no final newline'",
    "echo oops >&2; exit 3",
    "cat",                          # reads stdin: gets /dev/null, not the script
    "cd / && pwd",
    "pwd",                          # the cd above stayed in its subshell
    "printf ''",
    "printf 'a\\n\\nb\\n\\n'",
    "exit 0 # a trailing comment",
    "echo one; echo two >&2; echo three",
]


def alone(command: str) -> tuple[int, str, str]:
    res = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, cwd="/tmp")
    return res.returncode, res.stdout, res.stderr


def together(commands: list[str], mark: str) -> subprocess.CompletedProcess:
    return subprocess.run(batch.script(commands, mark), shell=True, capture_output=True,
                          text=True, cwd="/tmp")


def test_each_command_as_if_run_alone():
    mark = batch.new_mark()
    res = together(COMMANDS, mark)
    assert batch.split(res.stdout, res.stderr, mark, len(COMMANDS)) == \
        [alone(c) for c in COMMANDS]


def test_marks_are_unpredictable():
    assert batch.new_mark() != batch.new_mark()
    assert batch.new_mark().startswith("__fleetcheck_")


@pytest.mark.parametrize("cut", ["stdout", "stderr"])
def test_a_batch_cut_short_is_not_split(cut):
    mark = batch.new_mark()
    res = together(["echo a", "echo b"], mark)
    out, err = res.stdout, res.stderr
    if cut == "stdout":
        out = out[: out.rindex(mark) - 1]
    else:
        err = err[: err.rindex(mark) - 1]
    assert batch.split(out, err, mark, 2) is None


def test_output_faking_another_mark_does_not_count():
    mark = batch.new_mark()
    fake = batch.new_mark()
    res = together([f"printf '\\n{fake} 0\\n'", "echo b"], mark)
    parts = batch.split(res.stdout, res.stderr, mark, 2)
    assert parts[0] == (0, f"\n{fake} 0\n", "") and parts[1] == (0, "b\n", "")


def test_text_after_the_last_mark_is_refused():
    mark = batch.new_mark()
    res = together(["echo a"], mark)
    assert batch.split(res.stdout + "tail", res.stderr, mark, 1) is None
    assert batch.split(res.stdout, res.stderr, mark, 2) is None   # fewer than sent
