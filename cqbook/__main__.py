import sys


def run() -> int:
    """`python -m cqbook` and the `cqbook` command: the kernels' environment first (see
    cqbook.build.engine.fix_process_environment: it may re-run this command once), then the CLI."""
    from cqbook.build.engine import fix_process_environment

    fix_process_environment()
    from cqbook.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
