/* scan: git-style entry point. Each subcommand is one file in src/cli/. */
#include <stdio.h>
#include <string.h>

#include "scan/context.h"
#include "scan/dist.h"

#define SCAN_COMMAND(name, function, summary) int function(int argc, char **argv);
#include "commands.def"
#undef SCAN_COMMAND

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
#define SCAN_COMMAND(name, function, summary) {name, function, summary},
#include "commands.def"
#undef SCAN_COMMAND
    {NULL, NULL, NULL}};

static void print_usage(FILE *out) {
  fprintf(out,
          "scan %s: unsupervised image clustering (SCAN) with explanations\n\n"
          "usage: scan COMMAND [OPTIONS]    ('scan COMMAND --help' for its options)\n\ncommands:\n",
          SCAN_VERSION);
  for (const command *c = commands; c->name; c++) fprintf(out, "  %-12s %s\n", c->name, c->summary);
}

/* Under mpirun every rank runs the same command. A command that fails on any rank stops all of them (MPI_Abort with
   its exit status, after its message): a partner waiting in a collective would otherwise wait forever. */
static int finish(int rc) {
  if (rc != 0 && scan_dist_size() > 1) scan_dist_abort(rc);
  scan_dist_finalize();
  return rc;
}

static int run_command(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    print_usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("scan %s\n", SCAN_VERSION);
    return 0;
  }
  /* The process's context, from the environment (SCAN_BACKEND, SCAN_ISA, SCAN_ONEDNN_BLOCK), before any work: the
     ISA cap must reach oneDNN before its first kernel, and a bad value is a usage error (exit 2). */
  scan_status st = scan_context_open_default();
  if (st != SCAN_OK) {
    fprintf(stderr, "scan: %s\n", scan_error_message());
    return st == SCAN_ERR_INPUT ? 2 : 1;
  }
  int rc = 2;
  const command *c = commands;
  while (c->name && strcmp(c->name, argv[1]) != 0) c++;
  if (c->name) rc = c->run(argc - 1, argv + 1);
  else fprintf(stderr, "scan: unknown command '%s' (see 'scan --help')\n", argv[1]);
  scan_context_close_default();
  return rc;
}

int main(int argc, char **argv) {
  /* Before any thread (the loader's workers, OpenMP's) starts. */
  if (scan_dist_init(&argc, &argv) != 0) return 1;
  return finish(run_command(argc, argv));
}
