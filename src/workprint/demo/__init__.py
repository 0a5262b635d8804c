"""A virtual desktop and a scripted demonstration, for `make demo`, the tests and bench/."""
