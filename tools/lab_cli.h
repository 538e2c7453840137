/* Helpers shared by the lab's commands (trace, race, sweep, gradcheck, curvature). */
#ifndef RAVINE_TOOLS_LAB_CLI_H
#define RAVINE_TOOLS_LAB_CLI_H
#include "cli.h"

/* --start X,Y, or the surface's default start when text is NULL. */
void lab_cli_start(const rv_surface *s, const char *text, double start[2]);

/* Parse --surface SPEC (dies on errors with the library's message). */
rv_surface *lab_cli_surface(const char *text);

/* Print a number as JSON: %.9g, or null when not finite. */
void lab_cli_json_number(FILE *f, double v);

/* Optimizers that update whole tensors (muon, adafactor) need a shape that
   the lab's (x, y) point and explain's vector lack: die naming `what`, with
   `why` (NULL: the lab's reason) after the optimizer's name, pointing to
   `ravine replay --shape`. A spec that does not parse is left to the
   caller's own error. */
void lab_cli_elementwise(const char *what, const char *spec, const char *why);


#endif
