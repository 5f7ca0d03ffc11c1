/* A small flag parser shared by every subcommand. Unknown flags and flags
 * without their value are errors that name the flag (exit status 2). */
#ifndef SCAN_CLI_ARGS_H
#define SCAN_CLI_ARGS_H

typedef enum {
  ARG_BOOL,   /* --flag, sets int to 1 */
  ARG_STRING, /* --flag VALUE, sets const char* */
  ARG_INT,    /* --flag N, sets int */
  ARG_INDEX,  /* --flag N, sets int >= 0 (an index or a count); a negative value is refused, because these
                 options keep -1 for "not given" and would otherwise take --index -1 silently as absent */
  ARG_DOUBLE, /* --flag X, sets double */
  ARG_LIST    /* --flag VALUE, repeatable, appends to an arg_list */
} arg_kind;

typedef struct {
  const char *items[64];
  int count;
} arg_list;

typedef struct {
  const char *name; /* "--dataset" */
  arg_kind kind;
  void *target;
  const char *help;
} arg_option;

/* Parses argv[1..] (argv[0] is the subcommand name). `options` ends with a
 * {NULL} entry. Positional arguments go to `positional` when given (else they
 * are errors). Returns 0 to go on, 2 on a usage error (message printed),
 * and -1 when --help was printed (caller exits 0). */
int args_parse(int argc, char **argv, const arg_option *options, arg_list *positional, const char *usage,
               const char *description);

void args_print_help(const arg_option *options, const char *usage, const char *description);

#endif
