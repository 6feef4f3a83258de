/* The real `nerve` binary: usage, info, train + eval on a tiny IDX dataset, resume,
 * and clean failures (exit status and message) on bad input. */
#include <glib/gstdio.h>
#include <string.h>

#include "check.h"

typedef struct {
  int status;
  char *out, *err;
} Run;

static Run
run (const char *const *args)
{
  g_autofree char *bin = g_build_filename (g_getenv ("NERVE_BUILD_ROOT"), "core", "cli", "nerve", NULL);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, bin);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  Run r = { 0 };
  int wait = 0;
  g_autoptr (GError) err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err, &wait, &err)) {
    fprintf (stderr, "  spawn %s: %s\n", bin, err->message);
    CU_FAIL ("cannot run nerve");
    r.status = -1;
  } else {
    r.status = WIFEXITED (wait) ? WEXITSTATUS (wait) : 128;
  }
  g_ptr_array_free (argv, TRUE);
  return r;
}

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

static void
expect (Run *r, int status, const char *out_has, const char *err_has)
{
  CU_ASSERT_EQUAL (r->status, status);
  if (out_has)
    CU_ASSERT_PTR_NOT_NULL (strstr (r->out ? r->out : "", out_has));
  if (err_has)
    CU_ASSERT_PTR_NOT_NULL (strstr (r->err ? r->err : "", err_has));
  if (r->status != status || (out_has && !strstr (r->out, out_has)) || (err_has && !strstr (r->err, err_has)))
    fprintf (stderr, "  status %d\n  stdout: %s\n  stderr: %s\n", r->status, r->out, r->err);
  run_clear (r);
}

static void
test_usage_and_info (void)
{
  Run r = run ((const char *[]) { NULL });
  expect (&r, 2, NULL, "usage: nerve COMMAND");
  r = run ((const char *[]) { "frobnicate", NULL });
  expect (&r, 2, NULL, "unknown command 'frobnicate'");
  g_autofree char *fixture = nerve_test_path ("tests/fixtures/python-written.nerve");
  r = run ((const char *[]) { "info", fixture, NULL });
  expect (&r, 0, "fc1.weight  F32 [8,6]", NULL);
  g_autofree char *dir = g_dir_make_tmp ("nerve-cli-XXXXXX", NULL);
  g_autofree char *junk = g_build_filename (dir, "junk.nerve", NULL);
  g_file_set_contents (junk, "this is not a model", -1, NULL);
  r = run ((const char *[]) { "info", junk, NULL });
  expect (&r, 1, NULL, "nerve info: ");
  r = run ((const char *[]) { "info", NULL });
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

  Run r = run ((const char *[]) { "train", recipe, "--out", model, "--threads", "1", "--stop-after", "2", NULL });
  expect (&r, 0, "epoch 2/3", NULL);
  CU_ASSERT_TRUE (g_file_test (ckpt, G_FILE_TEST_EXISTS));
  r = run ((const char *[]) { "train", recipe, "--out", model, "--threads", "1", "--resume", NULL });
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "resuming from"));
  CU_ASSERT_PTR_NULL (strstr (r.out, "epoch 2/3"));
  expect (&r, 0, "epoch 3/3", NULL);
  CU_ASSERT_FALSE (g_file_test (ckpt, G_FILE_TEST_EXISTS));

  r = run ((const char *[]) { "eval", model, dir, NULL });
  expect (&r, 0, "samples   50", NULL);
  r = run ((const char *[]) { "eval", model, dir, NULL });
  expect (&r, 0, "confusion matrix", NULL);
  r = run ((const char *[]) { "info", model, NULL });
  expect (&r, 0, "nerve.input.std = 0.3", NULL);
  r = run ((const char *[]) { "eval", model, "/nonexistent", NULL });
  expect (&r, 1, NULL, "/nonexistent/t10k-images-idx3-ubyte");

  /* a recipe typo names the key */
  g_autofree char *bad = g_build_filename (dir, "bad.recipe", NULL);
  g_file_set_contents (bad, "[model]\narchitecture=tiny.json\n[train]\nepoch=3\n", -1, NULL);
  r = run ((const char *[]) { "train", bad, "--out", model, NULL });
  expect (&r, 1, NULL, "unknown key 'epoch' in [train]");
}

NERVE_TEST_MAIN ("cli",
                 { "usage and info", test_usage_and_info },
                 { "train, resume and eval a tiny model", test_train_eval_resume })
