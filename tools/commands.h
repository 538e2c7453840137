/* Every subcommand of the ravine CLI, one file each (tools/cmd_*.c). */
#ifndef RAVINE_TOOLS_COMMANDS_H
#define RAVINE_TOOLS_COMMANDS_H
#include "cli.h"

extern const cli_command cmd_replay;
extern const cli_command cmd_optimizers;
extern const cli_command cmd_schedule;
extern const cli_command cmd_trace;
extern const cli_command cmd_race;
extern const cli_command cmd_sweep;
extern const cli_command cmd_gradcheck;
extern const cli_command cmd_curvature;
extern const cli_command cmd_explain;
extern const cli_command cmd_memory;
extern const cli_command cmd_bench;
extern const cli_command cmd_diagnose;
extern const cli_command cmd_plot;
extern const cli_command cmd_report;

#endif
