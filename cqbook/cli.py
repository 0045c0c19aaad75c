"""Command line: `python -m cqbook build | run | sweep | params`. It parses and reports;
the work is done by `pipeline` and `reruns`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _once_each(names: list[str], command: str) -> None:
    """Refuse a name given twice with -p (`-p n 1 -p n 2`): keeping the last one silently
    would run something other than what the first says."""
    from cqbook.build import params

    for index, name in enumerate(names):
        if name in names[:index]:
            raise params.ParameterError(f"{command}: `{name}` is given twice with -p; give it "
                                        "once")


def _pairs(values: list[list[str]] | None) -> dict[str, str]:
    _once_each([name for name, _ in values or []], "run")
    return {name: value for name, value in (values or [])}


def _whole_number(maximum: int):
    """An argparse type: a whole number from 1 to `maximum` (0 or -1 would mean "no limit"
    or "no worker" further down, silently; a huge one would fork that many processes)."""

    def read(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= number <= maximum:
            raise argparse.ArgumentTypeError(f"{number} is not between 1 and {maximum}")
        return number

    return read


JOBS = _whole_number(64)
SECONDS = _whole_number(86_400)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cqbook", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="execute what changed and publish the book")
    build.add_argument("--jobs", "-j", type=JOBS,
                       help="parallel notebooks (default: cores)")
    build.add_argument("--params", type=Path, help="book parameters file "
                       "(default: params/book.yml)")
    build.add_argument("--cell-timeout", type=SECONDS, metavar="SECONDS",
                       help="fail a cell that runs longer (default: 120)")

    run = commands.add_parser("run", help="re-run one notebook with new parameters")
    run.add_argument("notebook")
    run.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"))
    run.add_argument("-f", "--params-file", type=Path, help="YAML file of name: value")
    run.add_argument("--into-book", action="store_true",
                     help="write the values into params/book.yml (the change is shown) and "
                     "rebuild the book with them; the next build keeps them")
    run.add_argument("--list", action="store_true", help="list the notebook's parameters")

    sweep = commands.add_parser("sweep", help="run one notebook over several values")
    sweep.add_argument("notebook")
    sweep.add_argument("-p", "--param", nargs="+", action="append", metavar="NAME VALUE",
                       help="a parameter name and the values to sweep")
    sweep.add_argument("-f", "--params-file", type=Path, help="fixed values for every run")
    sweep.add_argument("--jobs", "-j", type=JOBS)
    sweep.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")

    diff = commands.add_parser("diff", help="headline values, parameters and charts changed "
                               "since a base revision (exit 1 if any, 2 on error)")
    diff.add_argument("--base", metavar="REV", help="git revision to compare with (default: "
                      "merge base with origin/main, else with main)")
    diff.add_argument("--format", choices=("text", "markdown"), default="text",
                      help="markdown: a pull-request comment")
    diff.add_argument("revision", nargs="?", help=argparse.SUPPRESS)  # the old spelling of --base
    review = commands.add_parser("review", help="write _build/review/index.html: changed "
                                 "values and old/new charts side by side (exit 1 if any)")
    review.add_argument("--base", metavar="REV", help="as for diff")

    pdf = commands.add_parser("pdf", help="print the built book to _build/pdf/<book>.pdf "
                              "and publish the book again, linking it (after `make book`)")
    pdf.add_argument("--html", type=Path, help="built book (default: _build/html)")
    pdf.add_argument("--output", "-o", type=Path, help="PDF file (default: "
                     "_build/pdf/<book>.pdf)")

    show = commands.add_parser("params", help="list a notebook's parameters", add_help=False,
                               description="A notebook's parameters: type, rules, default "
                               "and meaning; with --json, as JSON Schema (draft 2020-12).")
    show.add_argument("-h", "--help", action=_ParamsHelp, nargs=0,
                      help="show this help, and the rules between parameters of every notebook")
    show.add_argument("notebook")
    show.add_argument("--json", action="store_true", help="print the declaration as JSON "
                      "Schema; rules between parameters go in the keyword x-cqbook-rules")

    translations = commands.add_parser("translations", help="the other language editions' "
                                       "translations (exit 1 if any is missing or stale)")
    translations.add_argument("--missing", action="store_true", required=True,
                              help="list every cell, caption or section with no current "
                              "translation, with its English and the marker line to use")
    return parser


class _ParamsHelp(argparse.Action):
    """`params --help`: argparse's help, then every notebook's rules between parameters
    (what JSON Schema cannot say, and x-cqbook-rules carries), read when asked for."""

    def __call__(self, parser, namespace, values, option_string=None):
        from cqbook.build import param_schema, params, pipeline

        lines = [parser.format_help(), ("rules between parameters (JSON Schema: "
                                        f"{param_schema.RULES_KEYWORD}, each `name rule "
                                        "other`):")]
        try:
            for name, path in pipeline.notebook_paths().items():
                rules = param_schema.cross_parameter_rules(params.read_declaration(path))
                lines.append(f"  {name}: {'; '.join(rules) if rules else 'none'}")
        except (params.ParameterError, OSError, ValueError) as error:
            lines.append(f"  (cannot be read: {error})")
        print("\n".join(lines))
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    from cqbook.build import params, pipeline, reruns
    from cqbook.build.execution import ExecutionFailure
    from cqbook.build.notebook_files import NotebookFileError

    try:
        if arguments.command == "pdf":
            from cqbook.build import pdf

            try:
                if arguments.html or arguments.output:  # a book of one's own: print only
                    print(f"pdf: {pdf.write_pdf(arguments.html, arguments.output)}")
                else:
                    output, linked = pdf.publish_with_pdf()
                    print(f"pdf: {output}\npdf: the published book links it from {linked} "
                          "pages")
            except pdf.PdfError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            return 0
        if arguments.command == "translations":
            from cqbook.build import editions

            report, missing = editions.missing_report()
            print(report)
            return 1 if missing else 0
        if arguments.command in ("diff", "review"):
            from cqbook.build import diff, review

            try:
                if arguments.command == "review":
                    page, changed = review.review(arguments.base)
                    print(page)
                else:
                    text, changed = diff.diff(arguments.base or arguments.revision,
                                              arguments.format)
                    print(text, end="" if text.endswith("\n") else "\n")
            except diff.DiffError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            return 1 if changed else 0
        if arguments.command == "build":
            pipeline.build(arguments.jobs, arguments.params or pipeline.BOOK_PARAMS_FILE,
                           cell_timeout=arguments.cell_timeout)
        elif arguments.command == "params" or getattr(arguments, "list", False):
            declaration = params.read_declaration(reruns.notebook_path(arguments.notebook))
            if getattr(arguments, "json", False):
                import json

                from cqbook.build import param_schema

                print(json.dumps(param_schema.schema(declaration), ensure_ascii=False, indent=2))
            else:
                print(declaration.describe())
        elif arguments.command == "run":
            values = _pairs(arguments.param)
            if arguments.into_book:
                reruns.run_into_book(arguments.notebook, values, arguments.params_file)
            else:
                reruns.run(arguments.notebook, values, arguments.params_file, page=True)
        elif arguments.command == "sweep":
            grid = {}
            _once_each([name for name, *_ in arguments.param or []], "sweep")
            for name, *values in arguments.param or []:
                if not values:
                    raise params.ParameterError(f"sweep: `{name}` needs at least one value")
                grid[name] = values
            if not grid:
                raise params.ParameterError("sweep: give at least one -p NAME VALUE [VALUE ...]")
            reruns.sweep(arguments.notebook, grid, arguments.params_file, arguments.jobs,
                         arguments.scheduler)
    except (params.ParameterError, pipeline.BuildError, ExecutionFailure, NotebookFileError,
            _data_error(), _page_error()) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a folder that cannot be written, a full disk: the file and why
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    return 0


def _page_error() -> type[Exception]:
    from cqbook.build.run_page import RunPageFailure

    return RunPageFailure


def _data_error() -> type[Exception]:
    from cqbook.dataset.package import DataError

    return DataError
