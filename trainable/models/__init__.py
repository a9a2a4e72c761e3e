"""The networks: classifiers that expose their representation, and Siamese discriminators."""

from __future__ import annotations

from trainable.models.classifiers import Classifier, classifier_names, create_classifier
from trainable.models.discriminators import (
    Discriminator,
    create_discriminator,
    dcgan_init_,
    discriminator_names,
)

__all__ = [
    "Classifier",
    "Discriminator",
    "classifier_names",
    "create_classifier",
    "create_discriminator",
    "dcgan_init_",
    "discriminator_names",
]
