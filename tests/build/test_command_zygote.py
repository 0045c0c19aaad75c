"""The suite's commands forked from a zygote (tests/command_zygote.py) see what a new
interpreter would: the same arguments, path, environment, working directory, output, exit
code and traceback; the zygote imports only what a build imports itself, never a module
meant for the kernels; and where it cannot stand in, a new interpreter runs the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import command_zygote
import pytest
from conftest import REPO, copy_repository

from cqbook.build import engine

# What a command can see of the process it runs in; `python -m probe` prints it.
PROBE = textwrap.dedent('''
    import json, os, sys
    state = {
        "argv": sys.argv, "path": sys.path, "cwd": os.getcwd(), "name": __name__,
        "environment": {name: os.environ.get(name) for name in
                        ("PYTHONPATH", "PYTHONHASHSEED", "OPENBLAS_NUM_THREADS", "CQBOOK_PROBE")},
        "hash_randomization": sys.flags.hash_randomization,
        "modules": sorted(sys.modules),
        "threads": [line.split()[1] for line in open("/proc/self/status")
                    if line.startswith("Threads:")],
        "parent_is_the_test": os.getppid() == int(os.environ["CQBOOK_TEST_PID"]),
    }
    print(json.dumps(state))
    print("to stderr: 永川\\r\\n", file=sys.stderr)
    if sys.argv[1:] == ["fail"]:
        raise ValueError("the probe failed")
    sys.exit(int(sys.argv[1]) if sys.argv[1:] else 0)
''')


@pytest.fixture
def probe_folder(tmp_path):
    (tmp_path / "probe.py").write_text(PROBE, encoding="utf-8")
    return tmp_path


def _environment(folder, **extra) -> dict[str, str]:
    # The book's own variables (CQBOOK_*) are the command's to read: the zygote stands in.
    return {**os.environ, "PYTHONPATH": str(folder), "CQBOOK_TEST_PID": str(os.getpid()),
            "CQBOOK_PROBE": "a value", **extra}


def _both(folder, *arguments, **extra):
    env = _environment(folder, **extra)
    forked = command_zygote.run(["probe", *arguments], folder, env, timeout=60)
    fresh = subprocess.run([sys.executable, "-m", "probe", *arguments], cwd=folder, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    return forked, fresh


def _state(completed) -> dict:
    return json.loads(completed.stdout.splitlines()[0])


def test_a_forked_command_sees_what_a_new_interpreter_sees(probe_folder):
    forked, fresh = _both(probe_folder, "3")
    assert forked.args == fresh.args and forked.returncode == fresh.returncode == 3
    assert forked.stderr == fresh.stderr == "to stderr: 永川\n\n"
    forked_state, fresh_state = _state(forked), _state(fresh)
    assert not forked_state.pop("parent_is_the_test") and fresh_state.pop("parent_is_the_test")
    preloaded = set(forked_state.pop("modules")) - set(fresh_state.pop("modules"))
    assert set(command_zygote.PRELOADED) <= preloaded
    assert not [name for name in preloaded
                if any(name == k or name.startswith(f"{k}.") for k in engine.KERNEL_ONLY)]
    # A new `python -m cqbook` re-runs itself once with the kernels' hash seed and one BLAS
    # thread (cqbook.build.engine.fix_process_environment); a fork starts from there.
    fresh_state["environment"]["PYTHONHASHSEED"] = "0"
    fresh_state["environment"]["OPENBLAS_NUM_THREADS"] = "1"
    fresh_state["hash_randomization"] = 0
    assert forked_state == fresh_state
    assert forked_state["argv"][0].endswith("probe.py") and forked_state["name"] == "__main__"
    assert forked_state["path"][:2] == [str(probe_folder)] * 2  # -m's folder, PYTHONPATH
    assert forked_state["threads"] == ["1"]


def test_a_forked_command_fails_as_a_new_interpreter_fails(probe_folder):
    forked, fresh = _both(probe_folder, "fail")
    assert forked.returncode == fresh.returncode == 1
    for completed in (forked, fresh):
        assert completed.stderr.rstrip().endswith("ValueError: the probe failed")
        assert "Traceback" in completed.stderr


def test_a_forked_command_has_the_packages_jsonschema_without_the_iri_grammar(probe_folder):
    # cqbook/__init__.py keeps rfc3987_syntax out of jsonschema; a zygote that imported
    # nbformat without it handed every command the grammar a real command never compiles.
    (probe_folder / "iri.py").write_text(
        "import json, sys, cqbook, jsonschema\n"
        "print(json.dumps([sys.modules.get('rfc3987_syntax', 0) is None, 'lark' in sys.modules]))\n",
        encoding="utf-8")
    env = _environment(probe_folder, PYTHONPATH=os.pathsep.join([str(probe_folder), str(REPO)]))
    forked = command_zygote.run(["iri"], probe_folder, env, timeout=60)
    fresh = subprocess.run([sys.executable, "-m", "iri"], cwd=probe_folder, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert forked.stdout == fresh.stdout == "[true, false]\n", forked.stderr + fresh.stderr


def test_where_the_environment_differs_a_new_interpreter_runs_the_command(probe_folder):
    env = _environment(probe_folder, MPLBACKEND="agg")  # read by matplotlib at import
    assert command_zygote._zygote().differences(env) == ["MPLBACKEND"]
    with pytest.warns(command_zygote.NewInterpreter, match="differs .* in MPLBACKEND"):
        completed = command_zygote.run(["probe"], probe_folder, env, timeout=60)
    assert completed.returncode == 0 and _state(completed)["parent_is_the_test"]
    env = _environment(probe_folder, CQBOOK_ENGINE="kernel")  # read by the book when it runs
    assert command_zygote._zygote().differences(env) == []
    # A default the command gets anyway, set in the test process by an in-process build.
    assert command_zygote._zygote().differences({**env, "OPENBLAS_NUM_THREADS": "1"}) == []
    assert command_zygote._zygote().differences({**env, "OPENBLAS_NUM_THREADS": "2"}) == \
        ["OPENBLAS_NUM_THREADS"]


def test_a_command_past_its_timeout_is_killed_and_said(probe_folder):
    (probe_folder / "sleeper.py").write_text("import time\nprint('sleeping', flush=True)\n"
                                             "time.sleep(60)\n", encoding="utf-8")
    with pytest.raises(subprocess.TimeoutExpired) as raised:
        command_zygote.run(["sleeper"], probe_folder, _environment(probe_folder), timeout=2)
    assert raised.value.stdout == "sleeping\n"
    # ... and the zygote serves the next command.
    assert command_zygote.run(["probe"], probe_folder, _environment(probe_folder),
                              timeout=60).returncode == 0


def test_two_lines_the_zygote_sent_together_are_read_one_after_the_other():
    # A command that ends at once: `started` and `ended` reach the pipe in one write. A
    # buffered readline took both, and the next select() waited for the command's timeout
    # (a suite stalled on test_faults_book that way).
    listener = command_zygote.Zygote.__new__(command_zygote.Zygote)
    listener.pending = b""
    listener.process = subprocess.Popen(  # the pipe stays open, as the zygote's does
        ["sh", "-c", "printf 'started 7\\nended 7 2\\n'; exec sleep 30"], stdout=subprocess.PIPE)
    try:
        assert listener._reply(timeout=5) == ["started", "7"]
        assert listener._reply(timeout=2) == ["ended", "7", "2"]
    finally:
        listener.process.kill()
        listener.process.wait()


def test_the_zygote_imports_only_what_a_build_process_imports_itself(tmp_path):
    """Every preloaded module is one the build process of a `cqbook build` that runs a
    notebook imports anyway; none of them is the book's own."""
    repo = copy_repository(tmp_path / "repo")
    dump = tmp_path / "modules.json"
    script = ("import json, sys\nfrom cqbook.cli import main\ncode = main(['build'])\n"
              f"open({str(dump)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n")
    completed = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True,
                               text=True, timeout=600, check=False,
                               env={**os.environ, "PYTHONPATH": str(repo),
                                    **command_zygote.FIXED_ENVIRONMENT,
                                    **command_zygote.DEFAULT_ENVIRONMENT})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "2 executed" in completed.stdout and "engine: real kernels" not in completed.stdout
    imported_by_a_build = set(json.loads(dump.read_text()))
    assert set(command_zygote.PRELOADED) <= imported_by_a_build
    assert not [name for name in command_zygote.PRELOADED if name.startswith("cqbook")]
