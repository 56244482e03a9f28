"""Make ``fairseq-train --optimizer adashift --help`` list the optimizer's own options.

fairseq's ``options.parse_args_and_arch`` parses once with ``--help`` active *before* it adds
the options of the chosen optimizer, model, task and scheduler, so ``--help`` never shows them
(for its built-in ``adam`` either). The wrapper below runs the parse with ``--help`` held back,
which adds those options to the parser, then prints the complete help. Without ``--help`` it
calls fairseq's function unchanged. fairseq adds component options only once it knows the
architecture, so ask as ``fairseq-train DATA --arch transformer --optimizer adashift --help``.
"""

import functools
import sys

HELP_FLAGS = ("-h", "--help")


def install() -> None:
    from fairseq import options

    if getattr(options.parse_args_and_arch, "_shows_component_help", False):
        return
    original = options.parse_args_and_arch

    @functools.wraps(original)
    def parse_args_and_arch(parser, input_args=None, parse_known=False, *args, **kwargs):
        argv = sys.argv[1:] if input_args is None else list(input_args)
        if not any(flag in argv for flag in HELP_FLAGS):
            return original(parser, input_args, parse_known, *args, **kwargs)
        try:
            original(parser, [a for a in argv if a not in HELP_FLAGS], True, *args, **kwargs)
        except (SystemExit, RuntimeError):  # DATA or --arch missing: show what is there so far
            pass
        parser.print_help()
        sys.exit(0)

    parse_args_and_arch._shows_component_help = True
    options.parse_args_and_arch = parse_args_and_arch
