import os
import sys


def run() -> int:
    """`python -m cqbook` and the `cqbook` command: the kernels' environment first (see
    cqbook.build.engine.fix_process_environment: it may re-run this command once), then the CLI."""
    from cqbook.build.engine import fix_process_environment

    fix_process_environment()
    from cqbook.cli import main

    return main()


def end_build_process(code: int) -> None:
    """A build's process holds pandas, matplotlib, IPython and jupytext, imported before its
    kernels fork: tearing the interpreter down frees each of their objects, 0.7 s of a 9 s
    rebuild. Nothing is left to do by then (files are closed, the build lock goes with the
    process, the waiting Sphinx was ended) but writing out what was printed."""
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    code = run()
    if sys.argv[1:2] == ["build"]:
        end_build_process(code or 0)
    sys.exit(code)
