"""Files on disk: the one file lock, staging folders, outputs kept apart from inputs."""
