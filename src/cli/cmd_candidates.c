/* scan candidates: every validation image's nearest candidates for each N of a
 * list (spec §14.1, §15.1), mined once for the largest N. */
#include <stdio.h>

#include "query_cli.h"
#include "scan/query.h"

int cmd_candidates(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  const char *n_list = NULL;
  const arg_option options[] = {
      STAGE_OPTIONS(o),
      {"--n-list", ARG_STRING, &n_list, "candidate counts, increasing (default 50,100,...,1000)"},
      {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, "scan candidates [--out RUN] [--n-list 50,100,...] [--config FILE] [--set K=V]",
                      "Mines, for every validation image, its N nearest other images in the pretext feature space\n"
                      "(pretext/features-val.npy; the image itself and exact copies of it are never candidates).\n"
                      "The largest N is searched once and every smaller N is its prefix. Writes\n"
                      "pretext/candidates-N<N>.npy (int64 [images, N], nearest first) and prints each N's label accuracy.");
  if (rc) return rc < 0 ? 0 : rc;
  int counts[SCAN_QUERY_MAX_COUNTS], num = 0;
  if ((rc = query_counts(n_list, counts, &num)) != 0) return rc;
  scan_config *cfg;
  scan_pipeline p;
  if ((rc = query_open(&o, &cfg, &p)) != 0) return rc;
  double accuracy[SCAN_QUERY_MAX_COUNTS];
  rc = cli_report_error(scan_query_write_candidates(&p, counts, num, accuracy));
  for (int c = 0; rc == 0 && c < num; c++) {
    if (accuracy[c] >= 0)
      printf("Accuracy of the top-%d candidates on the val set: %.2f%%\n", counts[c], accuracy[c]);
    else
      printf("top-%d candidates written (the val set has no labels)\n", counts[c]);
  }
  if (rc == 0) printf("candidates: %d files in %s/pretext (candidates-N%d.npy ... candidates-N%d.npy)\n", num, p.run_dir,
                      counts[0], counts[num - 1]);
  stage_close(cfg, &p);
  return rc;
}
