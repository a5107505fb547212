"""TFRecord records: schema, writers, readers and recipes."""

from astromer.records.schema import (
    SCHEMA_VERSION,
    UNLABELLED,
    image_example,
    light_curve_example,
    parse_image,
    parse_light_curve,
)

__all__ = [
    "SCHEMA_VERSION",
    "UNLABELLED",
    "image_example",
    "light_curve_example",
    "parse_image",
    "parse_light_curve",
]
