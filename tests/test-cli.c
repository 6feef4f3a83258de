/* The real `nerve` binary: usage, info, train + eval on a tiny IDX dataset, resume,
 * and clean failures (exit status and message) on bad input. */
#include <glib/gstdio.h>
#include <string.h>

#include "check.h"


/* Checks the run, then frees its output. */
static void
expect (NerveRun *r, int status, const char *out_has, const char *err_has)
{
  nerve_test_run_check (r, status, out_has, err_has);
  nerve_test_run_clear (r);
}

static void
test_usage_and_info (void)
{
  NerveRun r = nerve_test_run_cli ((const char *[]) { NULL });
  expect (&r, 2, NULL, "usage: nerve COMMAND");
  r = nerve_test_run_cli ((const char *[]) { "frobnicate", NULL });
  expect (&r, 2, NULL, "unknown command 'frobnicate'");
  g_autofree char *fixture = nerve_test_path ("tests/fixtures/python-written.nerve");
  r = nerve_test_run_cli ((const char *[]) { "info", fixture, NULL });
  expect (&r, 0, "fc1.weight  F32 [8,6]", NULL);
  g_autofree char *dir = g_dir_make_tmp ("nerve-cli-XXXXXX", NULL);
  g_autofree char *junk = g_build_filename (dir, "junk.nerve", NULL);
  g_file_set_contents (junk, "this is not a model", -1, NULL);
  r = nerve_test_run_cli ((const char *[]) { "info", junk, NULL });
  expect (&r, 1, NULL, "nerve info: ");
  r = nerve_test_run_cli ((const char *[]) { "info", NULL });
  expect (&r, 2, NULL, "MODEL");
}

static void
test_train_eval_resume (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-cli-XXXXXX", NULL);
  nerve_test_write_idx (dir, "train", 300, 0x803, -1, FALSE);
  nerve_test_write_idx (dir, "t10k", 50, 0x803, -1, TRUE);
  g_autofree char *arch = g_build_filename (dir, "tiny.json", NULL);
  g_autofree char *recipe = g_build_filename (dir, "tiny.recipe", NULL);
  g_autofree char *model = g_build_filename (dir, "tiny.nerve", NULL);
  g_autofree char *ckpt = g_strconcat (model, ".ckpt", NULL);
  g_file_set_contents (arch, "{\"input\":[1,2,3],\"layers\":[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":10}]}", -1, NULL);
  g_autofree char *text = g_strdup_printf ("[model]\narchitecture=tiny.json\n[data]\nformat=idx\npath=%s\n"
                                           "validation=50\nmean=0.5\nstd=0.3\n[train]\nepochs=3\nbatch=32\n"
                                           "[optimizer]\ntype=sgd\nlr=0.1\nmomentum=0.9\n", dir);
  g_file_set_contents (recipe, text, -1, NULL);

  NerveRun r = nerve_test_run_cli ((const char *[]) { "train", recipe, "--out", model, "--threads", "1", "--stop-after", "2", NULL });
  expect (&r, 0, "epoch 2/3", NULL);
  CU_ASSERT_TRUE (g_file_test (ckpt, G_FILE_TEST_EXISTS));
  r = nerve_test_run_cli ((const char *[]) { "train", recipe, "--out", model, "--threads", "1", "--resume", NULL });
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "resuming from"));
  CU_ASSERT_PTR_NULL (strstr (r.out, "epoch 2/3"));
  expect (&r, 0, "epoch 3/3", NULL);
  CU_ASSERT_FALSE (g_file_test (ckpt, G_FILE_TEST_EXISTS));

  r = nerve_test_run_cli ((const char *[]) { "eval", model, dir, NULL });
  expect (&r, 0, "samples   50", NULL);
  r = nerve_test_run_cli ((const char *[]) { "eval", model, dir, NULL });
  expect (&r, 0, "confusion matrix", NULL);
  r = nerve_test_run_cli ((const char *[]) { "info", model, NULL });
  expect (&r, 0, "nerve.input.std = 0.3", NULL);
  r = nerve_test_run_cli ((const char *[]) { "eval", model, "/nonexistent", NULL });
  expect (&r, 1, NULL, "/nonexistent/t10k-images-idx3-ubyte");

  /* a recipe typo names the key */
  g_autofree char *bad = g_build_filename (dir, "bad.recipe", NULL);
  g_file_set_contents (bad, "[model]\narchitecture=tiny.json\n[train]\nepoch=3\n", -1, NULL);
  r = nerve_test_run_cli ((const char *[]) { "train", bad, "--out", model, NULL });
  expect (&r, 1, NULL, "unknown key 'epoch' in [train]");
}

NERVE_TEST_MAIN ("cli",
                 { "usage and info", test_usage_and_info },
                 { "train, resume and eval a tiny model", test_train_eval_resume })
