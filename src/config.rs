//! Settings: flags > MISTRAL_* environment > oslo-style mistral.conf.
