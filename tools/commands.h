/* Every subcommand of the ravine CLI, one file each (tools/cmd_*.c). */
#ifndef RAVINE_TOOLS_COMMANDS_H
#define RAVINE_TOOLS_COMMANDS_H
#include "cli.h"

extern const cli_command cmd_replay;
extern const cli_command cmd_optimizers;
extern const cli_command cmd_schedule;
extern const cli_command cmd_bench;
extern const cli_command cmd_trace;
extern const cli_command cmd_diagnose;

#endif
