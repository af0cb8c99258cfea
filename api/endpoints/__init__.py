"""The company API's operations, one module per resource; each calls the apps' services and selectors."""
