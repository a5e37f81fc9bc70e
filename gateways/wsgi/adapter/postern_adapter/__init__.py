"""The parts of postern's WSGI adapter (postern_wsgi.py is its entry point)."""
