#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void args_print_help(const arg_option *options, const char *usage, const char *description) {
  printf("usage: %s\n\n%s\n\noptions:\n", usage, description);
  for (const arg_option *o = options; o->name; o++) {
    const int integer = o->kind == ARG_INT || o->kind == ARG_INDEX;
    const char *value = o->kind == ARG_BOOL ? "" : integer ? " N" : o->kind == ARG_DOUBLE ? " X" : " VALUE";
    char left[64];
    snprintf(left, sizeof left, "%s%s", o->name, value);
    printf("  %-26s %s\n", left, o->help);
  }
  printf("  %-26s %s\n", "--help", "show this help");
}

static int parse_value(const arg_option *o, const char *text) {
  char *end = NULL;
  errno = 0;
  switch (o->kind) {
    case ARG_STRING: *(const char **)o->target = text; return 0;
    case ARG_LIST: {
      arg_list *list = o->target;
      if (list->count >= 64) { fprintf(stderr, "scan: too many %s values\n", o->name); return 2; }
      list->items[list->count++] = text;
      return 0;
    }
    case ARG_INT:
    case ARG_INDEX: {
      long v = strtol(text, &end, 10);
      if (errno || !*text || *end || v < -2147483647L || v > 2147483647L) {
        fprintf(stderr, "scan: %s expects an integer, got '%s'\n", o->name, text);
        return 2;
      }
      if (o->kind == ARG_INDEX && v < 0) {
        fprintf(stderr, "scan: %s must be 0 or more, got %ld\n", o->name, v);
        return 2;
      }
      *(int *)o->target = (int)v;
      return 0;
    }
    case ARG_DOUBLE: {
      double v = strtod(text, &end);
      if (errno || !*text || *end || v != v) {
        fprintf(stderr, "scan: %s expects a number, got '%s'\n", o->name, text);
        return 2;
      }
      *(double *)o->target = v;
      return 0;
    }
    case ARG_BOOL: return 0;
  }
  return 2;
}

int args_parse(int argc, char **argv, const arg_option *options, arg_list *positional, const char *usage,
               const char *description) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      args_print_help(options, usage, description);
      return -1;
    }
    if (arg[0] != '-' || arg[1] == '\0') {
      if (!positional) { fprintf(stderr, "scan %s: unexpected argument '%s'\n", argv[0], arg); return 2; }
      if (positional->count >= 64) { fprintf(stderr, "scan %s: too many arguments\n", argv[0]); return 2; }
      positional->items[positional->count++] = arg;
      continue;
    }
    /* Accept both "--flag value" and "--flag=value". */
    char name[128];
    const char *inline_value = strchr(arg, '=');
    size_t name_len = inline_value ? (size_t)(inline_value - arg) : strlen(arg);
    if (name_len >= sizeof name) name_len = sizeof name - 1;
    memcpy(name, arg, name_len);
    name[name_len] = 0;
    const arg_option *match = NULL;
    for (const arg_option *o = options; o->name; o++)
      if (strcmp(o->name, name) == 0) match = o;
    if (!match) {
      fprintf(stderr, "scan %s: unknown option '%s' (see 'scan %s --help')\n", argv[0], name, argv[0]);
      return 2;
    }
    if (match->kind == ARG_BOOL) {
      if (inline_value) { fprintf(stderr, "scan %s: option '%s' takes no value\n", argv[0], name); return 2; }
      *(int *)match->target = 1;
      continue;
    }
    const char *value = inline_value ? inline_value + 1 : NULL;
    if (!value) {
      if (i + 1 >= argc) { fprintf(stderr, "scan %s: option '%s' needs a value\n", argv[0], name); return 2; }
      value = argv[++i];
    }
    int rc = parse_value(match, value);
    if (rc) return rc;
  }
  return 0;
}
