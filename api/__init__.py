"""The company API (/api/v1/ on a company's host): tokens, conventions and endpoints over the apps' services."""
