"""``python -m chitram_cli`` is the ``chitram`` command."""

from chitram_cli.main import main

raise SystemExit(main())
