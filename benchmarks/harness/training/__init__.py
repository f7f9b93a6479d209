"""Training that survives a kill: the checkpointed fit and its loggers."""
