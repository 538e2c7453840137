/* ravine/ravine.h — the whole public API of libravine.

   libravine is the optimizer layer of neural-network training in C11:
   stateless per-element update kernels and stateful optimizers with param
   groups whose arithmetic matches torch.optim in float32, schedules as pure
   functions of the step, gradient clipping, non-finite gradient policies,
   checkpoints, and the analytic loss surfaces of the optimizer lab.

       #include <ravine/ravine.h>

       rv_optim *opt;
       rv_schedule *lr;
       if (rv_optim_create_spec(&opt, "adamw(lr=3e-4, weight_decay=0.1)") ||
           rv_schedule_parse("warmup_cosine(peak=3e-4, warmup_steps=100, decay_steps=2000)", &lr))
           return fprintf(stderr, "%s\n", rv_errmsg()), 1;
       rv_optim_add_param(opt, 0, "w", w, grad_w, n, NULL);
       for (long t = 0; t < 2000; t++) {
           compute_gradients(w, grad_w);
           rv_optim_set_lr(opt, rv_schedule_lr(lr, t));
           rv_optim_step(opt);
       }
       rv_schedule_free(lr);
       rv_optim_free(opt);

   Link with `pkg-config --cflags --libs ravine`. Headers:
       ravine/status.h    status codes, rv_strerror, rv_errmsg
       ravine/spec.h      the spec-string grammar
       ravine/optim.h     algorithms, kernels, stateful optimizers
       ravine/schedule.h  learning-rate schedules
       ravine/bind.h      whole-optimizer calls for language bindings (Python) */
#ifndef RAVINE_RAVINE_H
#define RAVINE_RAVINE_H

#include "ravine/status.h"
#include "ravine/spec.h"
#include "ravine/optim.h"
#include "ravine/schedule.h"
#include "ravine/checkpoint.h"
#include "ravine/clip.h"
#include "ravine/guard.h"
#include "ravine/bench.h"
#include "ravine/surface.h"
#include "ravine/lab.h"
#include "ravine/explain.h"
#include "ravine/diagnose.h"
#include "ravine/bind.h"

#define RAVINE_VERSION_MAJOR 0
#define RAVINE_VERSION_MINOR 1
#define RAVINE_VERSION_PATCH 0
#define RAVINE_VERSION "0.1.0"

#endif
