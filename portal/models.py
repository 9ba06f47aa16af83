"""The site layer has no models of its own. This module exists because Django sends post_migrate only to apps with a
models module, and the roles are synced on portal's post_migrate (portal/roles.py)."""
