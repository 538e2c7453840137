/* ravine — the optimizer lab on the command line. */
#include "commands.h"

#include <string.h>

static const cli_command *const commands[] = {
    &cmd_replay,
    &cmd_optimizers,
    &cmd_schedule,
    &cmd_trace,
    &cmd_race,
    &cmd_sweep,
    &cmd_gradcheck,
    &cmd_curvature,
    &cmd_explain,
    &cmd_memory,
    &cmd_bench,
    &cmd_diagnose,
    &cmd_plot,
    &cmd_report,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "ravine %s: optimizers of neural-network training, exact and fast\n\n"
               "usage: ravine COMMAND [OPTIONS]   (ravine COMMAND --help for its options)\n\n"
               "commands:\n",
            RAVINE_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nspecs are written like Python calls: 'adamw(lr=3e-4, betas=(0.9,0.95))'\n");
}

int main(int argc, char **argv)
{
    cli_io_init();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ravine %s\n", RAVINE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i]->name))
            return commands[i]->run(argc - 1, argv + 1);
    const char *names[64];
    size_t k = 0;
    for (; k < N_COMMANDS && k < 63; k++)
        names[k] = commands[k]->name;
    names[k] = NULL;
    const char *near = rv_closest_word(argv[1], names);
    if (near)
        cli_die(argv[1], "unknown command (did you mean '%s'?)", near);
    cli_die(argv[1], "unknown command (see ravine --help)");
}
