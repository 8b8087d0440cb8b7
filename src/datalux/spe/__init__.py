"""The secure processing environment (SPE): from a permit to a prepared extract, then the
project's workspace. ``plan`` turns a permit into the pure library's plan
(:mod:`datalux.dataplane.extract`), which prepares it."""
