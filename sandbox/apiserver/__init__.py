"""The sandbox API server: routes, storage, admission hooks, patching and selectors."""
