"""carefeed: a terminal reader for social care news.

Importing the package must stay cheap and must not import Textual (a test checks it),
so that the CLI and the poller start fast.
"""

__version__ = "0.1.0"
