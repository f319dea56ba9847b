"""The worker: claims stored mail and runs the pipeline, one transaction per mail."""
