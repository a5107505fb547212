"""Converters from original checkpoints to astromer models."""
