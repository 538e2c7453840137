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


#endif
