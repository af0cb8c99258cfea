"""Every write of the candidates app: import, ranks, merges, workspace edits, audit."""
