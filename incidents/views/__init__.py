"""Views of the incidents app: support pages, status pages, hooks, the data-leak workflow."""
