"""Entry point of ``prompt-canvas`` and ``python -m prompt_canvas``.

``serve`` goes straight to the language server so its start-up does not pay
for the CLI's imports; everything else is :mod:`prompt_canvas.cli`.
"""

from __future__ import annotations

import sys


def main() -> int:
    if sys.argv[1:2] == ["serve"]:
        from .lsp.server import main as serve

        return serve(sys.argv[2:])
    from .cli import main as cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
