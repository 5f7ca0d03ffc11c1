/* scan: git-style entry point. Each subcommand is one file in src/cli/. */
#include <stdio.h>
#include <string.h>

#include "scan/cpu_isa.h"

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

int main(int argc, char **argv) {
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
  if (scan_isa_init() != SCAN_OK) {
    fprintf(stderr, "scan: %s\n", scan_error_message());
    return 2;
  }
  for (const command *c = commands; c->name; c++)
    if (strcmp(c->name, argv[1]) == 0) return c->run(argc - 1, argv + 1);
  fprintf(stderr, "scan: unknown command '%s' (see 'scan --help')\n", argv[1]);
  return 2;
}
