"""Training (``train``), persistence (``model_io``) and inference (``predict``)."""
