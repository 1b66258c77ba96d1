"""Settings for the notebooks run under nbval (pytest collects notebooks/ through this folder)."""

# nbval waits at most 5 s for each output message once a cell has finished. On a busy 2-core CI machine
# a training cell's last messages (its progress bars and prints) have arrived later than that, and the
# cell failed although it ran to the end. A minute is generous and still ends a really stuck kernel.
NBVAL_OUTPUT_TIMEOUT_S = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if type(item).__name__ == "IPyNbCell" and hasattr(item, "output_timeout"):
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT_S
