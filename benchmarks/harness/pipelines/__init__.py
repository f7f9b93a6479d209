"""How images reach the network: the ``files`` and the ``cache`` pipelines."""
