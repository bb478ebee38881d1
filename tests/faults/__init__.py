"""Fault-injection tests (issue 12): one test per fault, each asserting that
nothing is lost. doc/faults.rst lists them with what each proves."""
