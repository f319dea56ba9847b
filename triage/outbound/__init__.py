"""Replies: rendering (render.py) now; composing and sending with the pipeline."""
