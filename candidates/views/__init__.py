"""Views of the recruiters' workspace (thin: parse, call a service or selector, render)."""
