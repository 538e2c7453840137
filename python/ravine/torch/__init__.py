"""ravine.torch: drop-in replacements for torch.optim's optimizers, stepped by
libravine in place on CPU float32 tensors, or bfloat16 ones over float32
master weights, with state stored as float32, bfloat16 or 8-bit
(state="fp32"|"bf16"|"int8"; docs/torch.md).

    import ravine.torch
    opt = ravine.torch.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-4, total_steps=1000)
    for x, y in batches:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        sched.step()

Each class is a torch.optim.Optimizer with torch's arguments, defaults,
param groups and state_dict layout; from_spec builds one from a ravine spec.
"""
from ._optimizer import Optimizer, inspect_checkpoint
from ._optimizers import (SGD, Adafactor, Adagrad, Adam, Adamax, AdamW, Lion, Muon, NAdam,
                          Polyak, RAdam, RMSprop, ScheduleFreeAdamW, from_spec)

__all__ = ["Optimizer", "SGD", "Polyak", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam",
           "Adamax", "Lion", "Adafactor", "Muon", "ScheduleFreeAdamW", "from_spec",
           "inspect_checkpoint"]
