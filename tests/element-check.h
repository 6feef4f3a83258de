/* Helpers every nerve element suite shares (nervesentiment, nervedenoise): starting an
 * element to catch its error, running documented gst-launch-1.0 lines, and cleanup. */
#pragma once
#include <gst/gst.h>

/* gst_init, and GStreamer's own g_warning()s (event misordering and such) counted. */
void element_suite_init (int *argc, char ***argv);
/* How many of those warnings there were so far. */
int gst_warning_count (void);

/* Sets e to state, takes the first error posted on the way (with its debug string),
 * then returns e to NULL. *ret gets the state change's result. */
GError *start_element (GstElement *e, GstState state, GstStateChangeReturn *ret, char **debug);
/* The element FACTORY with model=PATH fails going to STATE with RESOURCE error CODE,
 * "Could not load model", whose debug string carries MESSAGE (NULL: the message
 * nerve_model_load gives for PATH). */
void expect_model_error (const char *factory, GstState state, const char *path, int code, const char *message);
/* The element FACTORY without a model property fails going to STATE with RESOURCE
 * NOT_FOUND, its debug string naming the model property and NERVE_MODEL_PATH (for
 * when no default model is installed and NERVE_MODEL_PATH holds none). */
void expect_no_model (const char *factory, GstState state);
/* expect_model_error for a missing file (NOT_FOUND), a file of garbage and GOOD_MODEL
 * cut in half (OPEN_READ), the files written in DIR. */
void check_bad_model_files (const char *factory, GstState state, const char *good_model, const char *dir);
/* Runs a pipeline to EOS (or error) with a 60 s timeout; TRUE on EOS. */
gboolean run_pipeline (GstElement *p, GError **error);
/* 100 runs of the pipeline DESC: every other one to EOS, the others stopped right after
 * PLAYING; asserts that the state changes succeed and the 50 full runs reach EOS. */
void check_pipeline_cycles (const char *desc);
/* The first comment block of RELATIVE (a source file of the tree): an element's
 * documentation, with its example launch lines. */
char *element_doc_block (const char *relative);
/* CMD (a documented "gst-launch-1.0 ..." line) with location=IN_EXAMPLE and
 * model=MODEL_EXAMPLE (asserted to stand once each) and location=OUT_EXAMPLE (where
 * there) pointing at the quoted real files. */
char *launch_line_with_files (const char *cmd, const char *in_example, const char *in, const char *model_example,
                              const char *model, const char *out_example, const char *out);
/* Runs a gst-launch-1.0 command line to its end (in sanitizer builds with the ASan
 * runtime preloaded: gst-launch is not instrumented). Prints the line and its output
 * when it fails. Returns whether it exited 0; *out gets its stdout. */
gboolean run_launch_line (const char *line, char **out);
/* Removes path and everything below it. */
void cleanup_dir (const char *path);
