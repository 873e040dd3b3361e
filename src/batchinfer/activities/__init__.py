"""Activity bodies: plain functions that take their ports as arguments, plus their triggers."""
