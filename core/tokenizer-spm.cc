/* The only C++ in libnerve: a thin extern "C" shim over libsentencepiece (0.1.97).
 * Every entry point catches every exception (allocation failures, std::length_error
 * from huge inputs...) and turns library statuses into NERVE_ERROR; nothing here
 * prints. The GLib-side logic (files, UTF-8 repair, option checks, model blobs) is in
 * tokenizer.c. */
#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "nerve"
#endif

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "error.h"
#include "tokenizer-private.h"

namespace spm = sentencepiece;

struct _NerveTokenizer {
  spm::SentencePieceProcessor sp;
  GBytes *proto; /* serialized model, computed once so serialize() is const and cheap */
  int vocab;
};

/* SentencePiece messages start with "./src/file.cc(123) [failed expression] " before
 * the human text; keep the human text when there is some. */
static std::string
status_text (const spm::util::Status &st)
{
  std::string m = st.message () ? st.message () : "";
  if (m.find (".cc(") != std::string::npos) {
    size_t close = m.find ("] ");
    if (close != std::string::npos && close + 2 < m.size ())
      return m.substr (close + 2);
    return "internal check failed: " + m;
  }
  return m.empty () ? "unknown SentencePiece error" : m;
}

static void
set_exception (GError **error, const char *what, const char *doing)
{
  try {
    throw;
  } catch (const std::bad_alloc &) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "%s: out of memory while %s", what, doing);
  } catch (const std::exception &e) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: SentencePiece failed while %s: %s", what,
                 doing, e.what ());
  } catch (...) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: SentencePiece failed while %s", what, doing);
  }
}

extern "C" NerveTokenizer *
nerve_spm_load (const void *data, gsize len, const char *what, GError **error)
{
  if (len == 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s is empty: expected a SentencePiece model", what);
    return NULL;
  }
  NerveTokenizer *t = NULL;
  try {
    t = new NerveTokenizer ();
    t->proto = NULL;
    spm::util::Status st =
      t->sp.LoadFromSerializedProto (absl::string_view (static_cast<const char *> (data), len));
    if (!st.ok ()) {
      std::string m = st.message () ? st.message () : "";
      if (m.find ("ParseFromArray") != std::string::npos)
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                     "%s is not a SentencePiece model: it does not parse as a ModelProto "
                     "(truncated, or another format)",
                     what);
      else
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s is not a usable SentencePiece model: %s", what,
                     status_text (st).c_str ());
      delete t;
      return NULL;
    }
    t->vocab = t->sp.GetPieceSize ();
    if (t->vocab <= 0) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s: the SentencePiece model has no pieces", what);
      delete t;
      return NULL;
    }
    std::string bytes = t->sp.serialized_model_proto ();
    t->proto = g_bytes_new (bytes.data (), bytes.size ());
    return t;
  } catch (...) {
    set_exception (error, what, "loading the model");
    delete t;
    return NULL;
  }
}

extern "C" void
nerve_tokenizer_free (NerveTokenizer *t)
{
  if (!t)
    return;
  if (t->proto)
    g_bytes_unref (t->proto);
  delete t;
}

extern "C" GBytes *
nerve_tokenizer_serialize (const NerveTokenizer *t)
{
  g_return_val_if_fail (t != NULL, NULL);
  return g_bytes_ref (t->proto);
}

extern "C" int
nerve_tokenizer_vocab_size (const NerveTokenizer *t)
{
  g_return_val_if_fail (t != NULL, 0);
  return t->vocab;
}

extern "C" int
nerve_tokenizer_piece_to_id (const NerveTokenizer *t, const char *piece)
{
  g_return_val_if_fail (t != NULL && piece != NULL, -1);
  try {
    return t->sp.PieceToId (piece);
  } catch (...) {
    return t->sp.unk_id ();
  }
}

extern "C" const char *
nerve_tokenizer_id_to_piece (const NerveTokenizer *t, int id)
{
  g_return_val_if_fail (t != NULL, NULL);
  if (id < 0 || id >= t->vocab)
    return NULL;
  /* a reference into the model proto: lives as long as the tokenizer */
  return t->sp.IdToPiece (id).c_str ();
}

extern "C" int
nerve_tokenizer_unk_id (const NerveTokenizer *t)
{
  g_return_val_if_fail (t != NULL, -1);
  return t->sp.unk_id ();
}

extern "C" int
nerve_tokenizer_bos_id (const NerveTokenizer *t)
{
  g_return_val_if_fail (t != NULL, -1);
  return t->sp.bos_id ();
}

extern "C" int
nerve_tokenizer_eos_id (const NerveTokenizer *t)
{
  g_return_val_if_fail (t != NULL, -1);
  return t->sp.eos_id ();
}

extern "C" int
nerve_tokenizer_pad_id (const NerveTokenizer *t)
{
  g_return_val_if_fail (t != NULL, -1);
  return t->sp.pad_id ();
}

extern "C" gboolean
nerve_spm_encode (const NerveTokenizer *t, const char *text, gsize len, GArray *ids, GPtrArray *pieces,
                  GError **error)
{
  try {
    absl::string_view in (text, len);
    spm::util::Status st;
    if (ids) {
      std::vector<int> out;
      st = t->sp.Encode (in, &out);
      if (st.ok ()) {
        g_array_set_size (ids, 0);
        for (int id : out) {
          gint32 v = id;
          g_array_append_val (ids, v);
        }
      }
    } else {
      std::vector<std::string> out;
      st = t->sp.Encode (in, &out);
      if (st.ok ()) {
        g_ptr_array_set_size (pieces, 0);
        for (const std::string &p : out)
          g_ptr_array_add (pieces, g_strndup (p.data (), p.size ()));
      }
    }
    if (!st.ok ()) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "tokenizer: cannot encode the text: %s",
                   status_text (st).c_str ());
      return FALSE;
    }
    return TRUE;
  } catch (...) {
    set_exception (error, "tokenizer", "encoding");
    return FALSE;
  }
}

extern "C" char *
nerve_spm_decode (const NerveTokenizer *t, const gint32 *ids, gsize n, gsize *len, GError **error)
{
  try {
    std::vector<int> in (ids, ids + n);
    std::string out;
    spm::util::Status st = t->sp.Decode (in, &out);
    if (!st.ok ()) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "tokenizer: cannot decode the ids: %s",
                   status_text (st).c_str ());
      return NULL;
    }
    *len = out.size ();
    char *s = static_cast<char *> (g_malloc (out.size () + 1));
    memcpy (s, out.data (), out.size ());
    s[out.size ()] = '\0';
    return s;
  } catch (...) {
    set_exception (error, "tokenizer", "decoding");
    return NULL;
  }
}

/* ---- training ------------------------------------------------------------------------ */

namespace {

class LineIterator : public spm::SentenceIterator {
 public:
  LineIterator (const char *const *lines, const gsize *lens, gsize n) : lines_ (lines), lens_ (lens), n_ (n)
  {
    Load ();
  }
  bool done () const override { return i_ >= n_; }
  void Next () override
  {
    i_++;
    Load ();
  }
  const std::string &value () const override { return cur_; }
  spm::util::Status status () const override { return spm::util::Status (); }

 private:
  void Load ()
  {
    if (i_ < n_)
      cur_.assign (lines_[i_], lens_[i_]);
  }
  const char *const *lines_;
  const gsize *lens_;
  gsize n_, i_ = 0;
  std::string cur_;
};

/* SentencePiece keeps its log level (and, for sampling, its seed) in globals. */
std::mutex train_lock;

}  // namespace

extern "C" NerveTokenizer *
nerve_spm_train (const char *const *lines, const gsize *lens, gsize n, const NerveTokenizerTrainOptions *o,
                 const char *what, GError **error)
{
  std::string model;
  try {
    char cov[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_dtostr (cov, sizeof cov, o->character_coverage);
    std::string norm = o->normalization;
    if (o->lowercase)
      norm += "_cf";
    /* No model_prefix and no input: the sentences come from the iterator and the model
     * comes back in memory. Sampling is done by the caller (input_sentence_size 0). */
    const std::unordered_map<std::string, std::string> kwargs = {
      { "vocab_size", std::to_string (o->vocab_size) },
      { "model_type", o->model_type },
      { "character_coverage", cov },
      { "input_sentence_size", "0" },
      { "max_sentence_length", "4192" }, /* tokenizer.c drops longer lines first */
      { "normalization_rule_name", norm },
      { "byte_fallback", o->byte_fallback ? "true" : "false" },
      { "unk_id", std::to_string (o->unk_id) },
      { "bos_id", std::to_string (o->bos_id) },
      { "eos_id", std::to_string (o->eos_id) },
      { "pad_id", std::to_string (o->pad_id) },
      { "num_threads", std::to_string (o->threads) },
      { "minloglevel", "2" }, /* errors only: nerve's output stays clean */
    };
    LineIterator it (lines, lens, n);
    spm::util::Status st;
    {
      std::lock_guard<std::mutex> hold (train_lock);
      st = spm::SentencePieceTrainer::Train (kwargs, &it, &model);
    }
    if (!st.ok ()) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: SentencePiece training failed: %s", what,
                   status_text (st).c_str ());
      return NULL;
    }
  } catch (...) {
    set_exception (error, what, "training");
    return NULL;
  }
  return nerve_spm_load (model.data (), model.size (), "the trained model", error);
}
