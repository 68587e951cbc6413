"""moto's own IoT test suite run against the sandbox: the conformance gate (``make moto-tests``, part of ``make test``).

moto's ``tests/test_iot`` come from the source package of the installed moto (``source``), run in a separate pytest
process with the sandbox's extensions installed (``plugin``), and every failure must be a reviewed divergence
(``divergences.toml``, read by ``divergences``) or it fails the run."""
