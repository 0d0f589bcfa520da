"""Meta's Graph API: the client wabawatch uses (``client``), and a fake server for tests and the demo (``fake``)."""
