"""Views of the notifications app (thin: parse, call a service or selector, render)."""
