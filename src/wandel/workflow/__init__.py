"""The thin workflow layer shared by the CLI and the web app: load from the store, call models, save."""
