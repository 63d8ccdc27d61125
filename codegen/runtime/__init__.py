"""Hand-written modules that the generated package needs, copied into it by `make generate`."""
