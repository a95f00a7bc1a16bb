"""One module per ``har`` sub-command: its parser (``configure``) and ``run``."""
