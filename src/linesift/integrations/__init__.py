"""Adapters for data-processing frameworks (``linesift.integrations.datatrove``); each imports
its framework lazily, so ``linesift`` itself never needs them."""
