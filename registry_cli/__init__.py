"""`registry`: the command line for pipelines. It talks to the REST API only, with a token, and imports nothing
of the server (no Django, none of its apps): `requests` and the standard library. Exit codes: exits.py."""
