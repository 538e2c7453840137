"""ravine: torch.optim's update rules in fast, exact float32 C (libravine).

    import ravine.torch
    opt = ravine.torch.AdamW(model.parameters(), lr=3e-4)   # for torch.optim.AdamW

ravine.torch holds the drop-in optimizers; the library itself is found as
ravine._lib describes (RAVINE_LIBRARY overrides the path).
"""
__version__ = "0.1.0"
