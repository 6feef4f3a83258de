#!/usr/bin/python3
"""The denoise evaluation of issue 4: a fixed test set and every system on it, in one run.

Test set (fixed by --seed; see docs/models/denoise.md):
  speech  the held-out files of models/denoise/heldout.txt that exist: LJ Speech
          LJ002-0051..0100 and the pocketsphinx-testdata LibriVox utterances (FSDD's held-out
          takes are skipped: 8 kHz digits under a second, nothing above 4 kHz to score);
  noise   the held-out noise: UrbanSound8K fold 1 (4 in 5 mixtures), misc/noise5 and the
          held-out sonic-pi samples (1 in 5);
  mixing  every utterance at each of -5, 0, 5, 10, 15 dB (55 x 5 = 275 mixtures), each with
          its own noise clip; plain RMS SNR over the whole utterance (so the input's measured
          SNR is the nominal one); speech at -25 dBFS RMS, both scaled down together if the
          mixture would peak above 0.99; 16 kHz float WAV.
Systems, each on every mixture:
  input                  the unprocessed mixture
  webrtcdsp-high, -very-high   gst-launch-1.0 ... webrtcdsp echo-cancel=false
                         noise-suppression-level=L gain-control=false high-pass-filter=false
                         (noise suppression alone; S16 in and out; delay 96 samples)
  rnnoise-<name>         ffmpeg -af aresample=48000,arnndn=m=<name>.rnnn,aresample=16000 for
                         each ../shared/data/pretrained/rnnoise/*.rnnn (delay 160 samples)
  dtln                   DTLN imported with `nerve import --format dtln`, run by `nerve denoise`
  nerve                  the shipped models/denoise/denoise.nerve through `nerve denoise`
  NAME=PATH.nerve        (--system) any other Nerve denoise model
(arnndn runs one file per ffmpeg process: batched runs were not reproducible.) Each output is
shifted by its system's known algorithmic delay (`nerve denoise` output is
already aligned), padded or cut to the clean length, and scored by Nerve's evaluator,
`nerve score --list FILE --json --max-delay 0` (SI-SDR, SNR, STOI and their improvements over
the input). The delays are then verified on a few mixtures: the aligned output, delayed by
20 ms, must come back at 20 ms from `nerve score`'s cross-correlation delay estimate; and
two mixtures per system are run again one file per process and must give the same samples.
The test set's fingerprint (sha256 of its samples) is printed and compared with the standard
set's.

Writes DIR/results.json and DIR/results.md, prints the tables and the issue's bars as
PASS/FAIL lines. Exits 0 (1 with --strict when a bar fails); skips with a message when
../shared/data is absent.

  /usr/bin/python3 models/denoise/evaluate.py [--out build/denoise-eval] [--system NAME=PATH]
"""
import argparse
import concurrent.futures as cf
import fnmatch
import glob
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RATE = 16000
SNRS = [-5, 0, 5, 10, 15]
SEED = 4
SPEECH_DBFS = -25.0
PEAK = 0.99
OTHER_NOISE_EVERY = 5  # one mixture in five takes its noise from misc/ and sonic-pi
VERIFY_SHIFT = 320  # samples (20 ms) added before the delay check
VERIFY_FILES = 8
STANDARD_FINGERPRINT = "5f115873ed6e8713"  # sha256 of the standard set's samples (seed 4, all 55 utterances)
REPEAT_FILES = 2  # per system, run again one file per process and compared byte for byte
BATCH = 40  # files per gst-launch process
# Where the held-out globs are looked for besides the shared data folder (Debian packages).
SYSTEM_SPEECH = ["/usr/share/pocketsphinx/test/data/librivox"]
SYSTEM_NOISE = ["/usr/share/sonic-pi/samples"]
WEBRTC = ("webrtcdsp echo-cancel=false noise-suppression-level={level} gain-control=false "
          "high-pass-filter=false")
WEBRTC_DELAY = 96  # WebRTC NS (16 kHz): 256-sample analysis, 160-sample blocks
RNNOISE_DELAY = 160  # RNNoise: 480 samples at 48 kHz; ffmpeg's aresample keeps times
AUDIO_EXT = (".wav", ".flac", ".ogg")


def log(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------- WAV files

def write_wav(path, x, rate=RATE):
    """Mono 32-bit float WAV."""
    x = np.asarray(x, dtype="<f4")
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    data = x.tobytes()
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt)
        f.write(b"data" + struct.pack("<I", len(data)) + data)


def read_wav(path):
    """(samples as float64 mono, rate) of a PCM16/PCM32/float32 WAV (plain or extensible)."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:4] != b"RIFF" or b[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a WAV file")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(b):
        cid, size = b[pos:pos + 4], struct.unpack("<I", b[pos + 4:pos + 8])[0]
        body = b[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
            if fmt[0] == 0xFFFE:  # extensible: the sub-format's first two bytes are the tag
                fmt = (struct.unpack("<H", body[24:26])[0],) + fmt[1:]
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or data is None:
        raise ValueError(f"{path}: no fmt or data chunk")
    tag, ch, rate, _, _, bits = fmt
    if tag == 1 and bits == 16:
        x = np.frombuffer(data[:len(data) // 2 * 2], "<i2") / 32768.0
    elif tag == 1 and bits == 32:
        x = np.frombuffer(data[:len(data) // 4 * 4], "<i4") / 2147483648.0
    elif tag == 3 and bits == 32:
        x = np.frombuffer(data[:len(data) // 4 * 4], "<f4").astype(np.float64)
    else:
        raise ValueError(f"{path}: unsupported WAV format {tag}/{bits} bits")
    return x.reshape(-1, ch).mean(axis=1), rate


def decode_batch(paths):
    """Audio files as 16 kHz mono float64 arrays, through one ffmpeg for all of them."""
    tmp = tempfile.mkdtemp(prefix="nerve-eval-")
    try:
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error"]
        for p in paths:
            cmd += ["-i", p]
        for i in range(len(paths)):
            cmd += ["-map", f"{i}:a:0", "-ac", "1", "-ar", str(RATE), "-f", "f32le", os.path.join(tmp, f"{i}.raw")]
        run(cmd, "ffmpeg decoding")
        return [np.fromfile(os.path.join(tmp, f"{i}.raw"), "<f4").astype(np.float64) for i in range(len(paths))]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def decode_all(paths, jobs):
    """{path: samples} for paths (duplicates allowed), BATCH files per ffmpeg, jobs at a time."""
    paths = sorted(set(paths))
    out = {}
    with cf.ThreadPoolExecutor(jobs) as pool:
        for b, xs in zip(batches(paths), pool.map(decode_batch, batches(paths))):
            out.update(zip(b, xs))
    return out


# ---------------------------------------------------------------- the test set

def heldout_globs():
    with open(os.path.join(ROOT, "models", "denoise", "heldout.txt")) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def held_out(path, globs):
    """heldout.txt's rule: a glob matches the end of a path ("*/" + glob)."""
    return any(fnmatch.fnmatch(path, "*/" + g) for g in globs)


def audio_files(dirs):
    out = []
    for d in dirs:
        for p in glob.glob(os.path.join(d, "**", "*"), recursive=True):
            if p.lower().endswith(AUDIO_EXT) and os.path.isfile(p):
                out.append(os.path.abspath(p))
    return sorted(out)


def rms(x):
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


def fit_noise(noise, n, rng):
    """n samples of noise from a random offset, looped with a 20 ms crossfade when short."""
    if len(noise) < n:
        fade = min(320, len(noise) // 4)
        ramp = np.linspace(0.0, 1.0, fade, endpoint=False) if fade else np.zeros(0)
        out = noise.copy()
        while len(out) < n + len(noise):
            head = out[len(out) - fade:] * (1 - ramp) + noise[:fade] * ramp if fade else np.zeros(0)
            out = np.concatenate([out[:len(out) - fade], head, noise[fade:]])
        noise = out
    start = int(rng.integers(0, len(noise) - n + 1))
    return noise[start:start + n]


def build_test_set(data, out, seed, per_snr, jobs):
    """Writes out/clean/<id>.wav, out/noisy/<id>.wav and out/testset.tsv; returns the mixtures."""
    globs = heldout_globs()
    speech = [p for p in audio_files([os.path.join(data, "speech")] + SYSTEM_SPEECH) if held_out(p, globs)]
    fsdd = [p for p in speech if "/fsdd/" in p]
    speech = [p for p in speech if "/fsdd/" not in p]
    noise = [p for p in audio_files([os.path.join(data, "noise")] + SYSTEM_NOISE) if held_out(p, globs)]
    urban = [p for p in noise if "/urbansound8k-fold1/" in p]
    other = [p for p in noise if "/urbansound8k-fold1/" not in p]
    log(f"held-out speech: {len(speech)} utterances ({sum('/ljspeech/' in p for p in speech)} LJ Speech, "
        f"{sum('/librivox/' in p for p in speech)} LibriVox); {len(fsdd)} FSDD clips skipped (8 kHz digits < 1 s)")
    log(f"held-out noise: {len(urban)} UrbanSound8K fold 1 clips, {len(other)} others "
        f"({', '.join(os.path.basename(p) for p in other)})")
    for d, what in ((SYSTEM_SPEECH[0], "pocketsphinx-testdata"), (SYSTEM_NOISE[0], "sonic-pi-samples")):
        if not os.path.isdir(d):
            log(f"NOTE: {d} is missing (install {what}): this is not the standard test set")
    if per_snr:
        speech = speech[:per_snr]
    if len(speech) * len(SNRS) < 200 and not per_snr:
        log(f"NOTE: only {len(speech) * len(SNRS)} mixtures (the issue asks for >= 200)")
    if not speech or not urban:
        raise SystemExit("evaluate.py: no held-out speech or UrbanSound8K noise found")

    rng = np.random.default_rng(seed)
    total = len(speech) * len(SNRS)
    # noise sources: every OTHER_NOISE_EVERY-th slot cycles through the other clips, the
    # rest draw UrbanSound8K clips without replacement (a spare pool replaces silent ones)
    urban_order = [urban[i] for i in rng.permutation(len(urban))]
    slots = []
    for k in range(total):
        slots.append(("other", other[(k // OTHER_NOISE_EVERY) % len(other)]) if other and k % OTHER_NOISE_EVERY == 0
                     else ("urban", None))
    slots = [slots[i] for i in rng.permutation(total)]
    # decode what can be needed at once: the speech, the other noise, and the UrbanSound8K
    # clips in draw order with a spare 10 % for near-silent ones
    n_urban = sum(kind == "urban" for kind, _ in slots)
    audio = decode_all(speech + other + urban_order[:n_urban + n_urban // 10 + 8], jobs)
    speech_audio = {}
    for p in speech:
        x = audio[p] - audio[p].mean()
        speech_audio[p] = x * (10 ** (SPEECH_DBFS / 20) / rms(x))

    def noise_audio(p):
        if p not in audio:
            audio.update(decode_all([p], 1))
        return audio[p]

    for sub in ("clean", "noisy"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    mixtures, k, next_urban = [], 0, 0
    digest = hashlib.sha256()  # over every sample written: the set's fingerprint
    for snr in SNRS:
        for i, sp in enumerate(speech):
            s = speech_audio[sp]
            kind, npath = slots[k]
            while True:
                if kind == "urban":
                    npath = urban_order[next_urban % len(urban_order)]
                    next_urban += 1
                nz = fit_noise(noise_audio(npath), len(s), rng)
                nz = nz - nz.mean()
                if rms(nz) > 1e-4 or kind == "other":  # near-silent UrbanSound8K clip: draw another
                    break
            nz = nz * (rms(s) / max(rms(nz), 1e-12) / 10 ** (snr / 20))
            mix = s + nz
            scale = min(1.0, PEAK / max(np.abs(mix).max(), np.abs(s).max()))
            mid = f"snr{snr:+d}_{i:03d}".replace("+", "p").replace("-", "m")
            for sub, x in (("clean", s * scale), ("noisy", mix * scale)):
                x = x.astype("<f4")
                write_wav(os.path.join(out, sub, mid + ".wav"), x)
                digest.update(x.tobytes())
            mixtures.append(dict(id=mid, snr=snr, n=len(s), speech=sp, noise=npath, scale=scale))
            k += 1
    short = lambda p: os.path.relpath(p, data) if p.startswith(data + os.sep) else p
    with open(os.path.join(out, "testset.tsv"), "w") as f:
        f.write("id\tsnr_db\tsamples\tspeech\tnoise\tscale\n")
        for m in mixtures:
            f.write(f"{m['id']}\t{m['snr']}\t{m['n']}\t{short(m['speech'])}\t{short(m['noise'])}\t{m['scale']:.6f}\n")
    fingerprint = digest.hexdigest()[:16]
    standard = "" if per_snr or seed != SEED else \
        " (the standard set's)" if fingerprint == STANDARD_FINGERPRINT else \
        f" (NOT the standard set's {STANDARD_FINGERPRINT}: other data, or another ffmpeg decoding it)"
    log(f"test set fingerprint {fingerprint}{standard}")
    log(f"test set: {len(mixtures)} mixtures ({len(speech)} utterances x SNR {SNRS} dB), "
        f"{sum(m['n'] for m in mixtures) / RATE / 60:.1f} min, seed {seed} -> {out}/testset.tsv")
    return mixtures, fingerprint


# ---------------------------------------------------------------- systems

def run(cmd, what):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{what} failed ({r.returncode}): {' '.join(cmd)[:300]}...\n{r.stderr[-2000:]}")
    return r


def batches(items, n=BATCH):
    return [items[i:i + n] for i in range(0, len(items), n)]


def webrtc_batch(level, pairs):
    """One gst-launch-1.0 with an independent branch (own webrtcdsp) per file."""
    cmd = ["gst-launch-1.0", "-q"]
    for src, dst in pairs:
        cmd += ["filesrc", f"location={src}", "!", "wavparse", "!", "audioconvert", "dithering=none", "!"]
        cmd += WEBRTC.format(level=level).split() + ["!", "audioconvert", "dithering=none", "!", "wavenc", "!",
                                                      "filesink", f"location={dst}"]
    run(cmd, "gst-launch-1.0 webrtcdsp")


def ffmpeg_batch(model, pairs):
    """One ffmpeg process per file, as users run arnndn. (Several files in one process,
    one filter chain each, once gave 36 of 40 outputs that diverged from the one-file runs
    part-way through, and the last ~160 samples differ there always: not trusted.)"""
    for src, dst in pairs:
        run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-threads", "1", "-filter_threads", "1",
             "-i", src, "-af", f"aresample=48000,arnndn=m='{model}',aresample={RATE}", "-c:a", "pcm_f32le", dst],
            "ffmpeg arnndn")


def nerve_batch(nerve, model, pairs):
    for src, dst in pairs:
        run([nerve, "denoise", "-q", "--model", model, src, dst], "nerve denoise")


def import_dtln(nerve, data, out):
    """DTLN's ONNX export through `nerve import`; None (and a message) when that fails."""
    src = os.path.join(data, "pretrained", "dtln")
    dst = os.path.join(out, "dtln.nerve")
    if not os.path.isfile(os.path.join(src, "model_1.onnx")):
        log(f"skip dtln: {src}/model_1.onnx is missing")
        return None
    r = subprocess.run([nerve, "import", "--format", "dtln", src, dst], capture_output=True, text=True)
    if r.returncode or not os.path.isfile(dst):
        log(f"skip dtln: `nerve import --format dtln {src} {dst}` failed: {(r.stderr or r.stdout).strip()[:300]}")
        return None
    return dst


def systems_to_run(args):
    """[(name, kind, param, delay)]; skipped systems are reported."""
    out = [("input", "input", None, 0)]
    if shutil.which("gst-launch-1.0"):
        probe = subprocess.run(["gst-inspect-1.0", "webrtcdsp"], capture_output=True)
        if probe.returncode == 0:
            out += [(f"webrtcdsp-{lv}", "webrtc", lv, WEBRTC_DELAY) for lv in ("high", "very-high")]
        else:
            log("skip webrtcdsp: gst-inspect-1.0 does not find it (gstreamer1.0-plugins-bad)")
    else:
        log("skip webrtcdsp: no gst-launch-1.0")
    rnnn = sorted(glob.glob(os.path.join(args.data, "pretrained", "rnnoise", "*.rnnn")))
    if shutil.which("ffmpeg") and rnnn:
        out += [(f"rnnoise-{os.path.basename(p)[:-5]}", "ffmpeg", p, RNNOISE_DELAY) for p in rnnn]
    else:
        log("skip rnnoise: no ffmpeg or no pretrained/rnnoise/*.rnnn")
    named = dict(s.split("=", 1) for s in args.system)
    if "dtln" not in named and not args.no_dtln:
        p = import_dtln(args.nerve, args.data, args.out)
        if p:
            named = {"dtln": p, **named}
    if "nerve" not in named:
        shipped = os.path.join(ROOT, "models", "denoise", "denoise.nerve")
        if os.path.isfile(shipped):
            named["nerve"] = shipped
        else:
            log(f"skip nerve: the shipped model {shipped} does not exist yet (give --system nerve=PATH)")
    for name, path in named.items():
        if os.path.isfile(path):
            out.append((name, "nerve", os.path.abspath(path), 0))
        else:
            log(f"skip {name}: {path} does not exist")
    if args.only:
        keep = set(args.only.split(","))
        out = [s for s in out if s[0] in keep or s[0] == "input"]
    return out


def run_system(system, mixtures, out, nerve, jobs, sub="raw"):
    """Runs one system on every noisy file into out/<sub>/<name>/; returns seconds taken."""
    name, kind, param, _ = system
    if kind == "input":
        return 0.0
    d = os.path.join(out, sub, name)
    os.makedirs(d, exist_ok=True)
    pairs = [(os.path.join(out, "noisy", m["id"] + ".wav"), os.path.join(d, m["id"] + ".wav")) for m in mixtures]
    fn = {"webrtc": webrtc_batch, "ffmpeg": ffmpeg_batch}.get(kind)
    size = BATCH if kind == "webrtc" else max(1, len(pairs) // (4 * jobs))
    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(jobs) as pool:
        work = [pool.submit(fn, param, b) if fn else pool.submit(nerve_batch, nerve, param, b)
                for b in batches(pairs, size)]
        for w in work:
            w.result()
    return time.monotonic() - t0


def repeatable(system, mixtures, out, nerve):
    """Runs the system again, one file per process, on the given mixtures: how many
    outputs have exactly the first run's samples (batched webrtcdsp included)."""
    name = system[0]
    for m in mixtures:
        run_system(system, [m], out, nerve, 1, sub="repeat")
    # the samples, not the bytes: libsndfile's PEAK chunk holds a time stamp
    same = lambda m: np.array_equal(read_wav(os.path.join(out, "raw", name, m["id"] + ".wav"))[0],
                                    read_wav(os.path.join(out, "repeat", name, m["id"] + ".wav"))[0])
    return sum(same(m) for m in mixtures)


def align(system, mixtures, out, shift=0, ids=None):
    """Writes out/<dir>/<name>/<id>.wav: the raw output moved earlier by the system's delay
    (later by `shift`), cut or zero-padded to the clean length. Returns {id: path}."""
    name, kind, _, delay = system
    sub = "aligned" if not shift else "verify"
    paths = {}
    for m in mixtures:
        if ids is not None and m["id"] not in ids:
            continue
        if kind == "input" and not shift:
            paths[m["id"]] = os.path.join(out, "noisy", m["id"] + ".wav")
            continue
        src = os.path.join(out, "noisy" if kind == "input" else os.path.join("raw", name), m["id"] + ".wav")
        if kind == "nerve" and not shift:  # `nerve denoise` output is aligned and full length
            paths[m["id"]] = src
            continue
        y, rate = read_wav(src)
        if rate != RATE:
            raise RuntimeError(f"{src}: {rate} Hz, expected {RATE}")
        y = np.concatenate([np.zeros(shift), y[delay:]])[:m["n"]]
        y = np.concatenate([y, np.zeros(m["n"] - len(y))])
        d = os.path.join(out, sub, name)
        os.makedirs(d, exist_ok=True)
        paths[m["id"]] = os.path.join(d, m["id"] + ".wav")
        write_wav(paths[m["id"]], y)
    return paths


def score(nerve, out, name, lines, max_delay_ms):
    """`nerve score --list` over (clean, estimate, noisy, group) lines: its parsed JSON."""
    lst = os.path.join(out, "lists", name + ".tsv")
    os.makedirs(os.path.dirname(lst), exist_ok=True)
    with open(lst, "w") as f:
        for ln in lines:
            f.write("\t".join(ln) + "\n")
    r = run([nerve, "score", "--list", lst, "--json", "--max-delay", str(max_delay_ms)], "nerve score")
    return json.loads(r.stdout)


# ---------------------------------------------------------------- report

COLS = [str(s) for s in SNRS] + ["all"]
METRICS = [("si_sdr_improvement", "SI-SDR improvement (dB)", "{:+.2f}"),
           ("snr_improvement", "SNR improvement (dB)", "{:+.2f}"),
           ("stoi", "STOI (input row: the unprocessed mixtures)", "{:.4f}")]


def tables(results, md):
    lines = []
    names = list(results)
    w = max(len(n) for n in names)
    for key, title, fmt in METRICS:
        if md:
            lines += [f"**{title}**, by input SNR (dB)", "",
                      "| system | " + " | ".join(COLS) + " |", "|---|" + "---:|" * len(COLS)]
        else:
            lines += [title + ", by input SNR (dB)", f"{'system':<{w}} " + " ".join(f"{c:>8}" for c in COLS)]
        for n in names:
            vals = [results[n]["groups"][c].get(key) for c in COLS]
            cells = [fmt.format(v) if v is not None else "n/a" for v in vals]
            row = f"| {n} | " + " | ".join(cells) + " |" if md else f"{n:<{w}} " + " ".join(f"{c:>8}" for c in cells)
            lines.append(row)
        lines.append("")
    return "\n".join(lines)


def check_bars(results, shipped):
    """The issue's bars as (ok, line) pairs; [] when the shipped model was not run."""
    if shipped not in results:
        return []
    g = lambda n, c, k: results[n]["groups"][c][k]
    web = [n for n in results if n.startswith("webrtcdsp-")]
    rnn = [n for n in results if n.startswith("rnnoise-")]
    bars = []
    for c in ("0", "5"):
        v = g(shipped, c, "si_sdr_improvement")
        bars.append((v >= 6.0, f"{shipped} SI-SDRi at {c} dB: {v:+.2f} dB >= +6 dB"))
        for peers, margin, what in ((web, 3.0, "webrtcdsp's best"), (rnn, 1.0, "the best RNNoise")):
            if not peers:
                bars.append((False, f"{shipped} vs {what} at {c} dB: not measured (peer missing)"))
                continue
            best = max(peers, key=lambda n: g(n, c, "si_sdr_improvement"))
            b = g(best, c, "si_sdr_improvement")
            bars.append((v - b >= margin, f"{shipped} SI-SDRi at {c} dB beats {what} ({best} {b:+.2f}) by "
                                          f"{v - b:+.2f} dB >= {margin:.0f} dB"))
    for c in COLS[:-1]:
        v, base = g(shipped, c, "stoi"), g("input", c, "stoi")
        bars.append((v >= base, f"{shipped} STOI at {c} dB: {v:.5f} >= input {base:.5f} ({v - base:+.5f})"))
    return bars


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "denoise-eval"), help="output folder")
    ap.add_argument("--data", default=os.environ.get("NERVE_DATA_DIR", os.path.join(ROOT, "..", "shared", "data")),
                    help="the shared data folder (default: $NERVE_DATA_DIR, else ../shared/data)")
    ap.add_argument("--nerve", default=os.path.join(ROOT, "build", "core", "cli", "nerve"), help="the nerve binary")
    ap.add_argument("--system", action="append", default=[], metavar="NAME=PATH.nerve",
                    help="a Nerve denoise model to evaluate (repeatable); 'nerve' and 'dtln' replace the defaults")
    ap.add_argument("--shipped", default="nerve", help="the system the bars are checked for (default: nerve)")
    ap.add_argument("--only", help="comma-separated systems to run (input always runs)")
    ap.add_argument("--no-dtln", action="store_true", help="do not import and run DTLN")
    ap.add_argument("--seed", type=int, default=SEED, help=f"test-set seed (default {SEED}: the standard set)")
    ap.add_argument("--per-snr", type=int, default=0,
                    help="only the first N utterances per SNR (a quick look: other noise draws than the standard set)")
    ap.add_argument("--jobs", type=int, default=2, help="processes at a time (default 2)")
    ap.add_argument("--keep-raw", action="store_true", help="keep the peers' unaligned outputs (out/raw/)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a bar fails or cannot be checked")
    args = ap.parse_args()
    args.data = os.path.abspath(args.data)
    args.out = os.path.abspath(args.out)
    args.nerve = os.path.abspath(args.nerve)
    if not os.path.isdir(os.path.join(args.data, "speech")) or not os.path.isdir(os.path.join(args.data, "noise")):
        log(f"SKIP: {args.data} (speech/, noise/) is absent: the evaluation needs the shared data")
        return 0
    for s in args.system:
        if "=" not in s:
            ap.error(f"--system wants NAME=PATH, not {s!r}")
    if not os.access(args.nerve, os.X_OK):
        ap.error(f"{args.nerve} is not built (ninja -C build)")
    if not shutil.which("ffmpeg"):
        ap.error("ffmpeg is needed to decode the held-out files")
    t_start = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    for sub in ("raw", "aligned", "verify", "lists", "repeat"):
        shutil.rmtree(os.path.join(args.out, sub), ignore_errors=True)
    mixtures, fingerprint = build_test_set(args.data, args.out, args.seed, args.per_snr, args.jobs)
    systems = systems_to_run(args)

    results, delays = {}, {}
    verify_ids = set([m["id"] for m in mixtures if m["snr"] == SNRS[-1]][:VERIFY_FILES])
    audio = sum(m["n"] for m in mixtures) / RATE
    clean = lambda m: os.path.join(args.out, "clean", m["id"] + ".wav")
    noisy = lambda m: os.path.join(args.out, "noisy", m["id"] + ".wav")

    def evaluate(sys_, secs):
        """Aligns, scores and checks the delay of one system's outputs."""
        name, kind, param, delay = sys_
        again = [m for m in mixtures if m["id"] in verify_ids][:REPEAT_FILES] if kind != "input" else []
        repeated = repeatable(sys_, again, args.out, args.nerve)
        paths = align(sys_, mixtures, args.out)
        res = score(args.nerve, args.out, name, [(clean(m), paths[m["id"]], noisy(m), str(m["snr"]))
                                                 for m in mixtures], 0)
        groups = dict(res["groups"], all=res["all"])
        # delay check: the aligned output 20 ms late must be found 20 ms late, per file
        vpaths = align(sys_, mixtures, args.out, shift=VERIFY_SHIFT, ids=verify_ids)
        vres = score(args.nerve, args.out, name + "-delay", [(clean(m), vpaths[m["id"]], "-", m["id"])
                                                             for m in mixtures if m["id"] in vpaths], 50)
        found = [round(g["delay_ms"] * RATE / 1000) for g in vres["groups"].values()]
        exact = sum(f == VERIFY_SHIFT for f in found)
        delays[name] = dict(assumed=delay, checked=len(found), exact=exact,
                            residual=[f - VERIFY_SHIFT for f in found], rerun=len(again), rerun_identical=repeated)
        results[name] = dict(kind=kind, model=param, delay_samples=delay, seconds=round(secs, 2),
                             x_real_time=round(audio / secs, 1) if secs else None, groups=groups)
        if kind in ("webrtc", "ffmpeg") and not args.keep_raw:  # aligned copies are kept
            shutil.rmtree(os.path.join(args.out, "raw", name), ignore_errors=True)
        log(f"{name:<22} ran in {secs:6.1f} s ({audio / secs if secs else 0:5.0f}x real time); "
            f"SI-SDRi {groups['all']['si_sdr_improvement']:+.2f} dB; delay {delay} samples: "
            f"{exact}/{len(found)} files confirmed exactly" +
            (f"; rerun alone: {repeated}/{len(again)} identical" if again else ""))

    # each system's scoring runs while the next system processes
    with cf.ThreadPoolExecutor(args.jobs) as scoring:
        pending = []
        for sys_ in systems:
            secs = run_system(sys_, mixtures, args.out, args.nerve, args.jobs)
            pending.append(scoring.submit(evaluate, sys_, secs))
        for p in pending:
            p.result()
    results = {s[0]: results[s[0]] for s in systems}  # in the order they were listed

    cfg = dict(seed=args.seed, fingerprint=fingerprint, snrs=SNRS, mixtures=len(mixtures), rate=RATE,
               speech_dbfs=SPEECH_DBFS,
               snr_mode="plain RMS over the whole utterance", per_snr=args.per_snr or None,
               utterances=len(mixtures) // len(SNRS), total_seconds=round(time.monotonic() - t_start, 1))
    text = tables(results, md=False)
    log("\n" + text)
    bars = check_bars(results, args.shipped)
    bar_lines = [f"{'PASS' if ok else 'FAIL'}  {line}" for ok, line in bars]
    if not bars:
        bar_lines = [f"BARS NOT CHECKED: no system '{args.shipped}' (the shipped model) in this run"]
    if any(d["exact"] < d["checked"] for d in delays.values()):
        bar_lines.append("WARNING: some delays were not confirmed: see delay_check in results.json")
    if any(d["rerun_identical"] < d["rerun"] for d in delays.values()):
        bar_lines.append("WARNING: some outputs changed when rerun alone: see delay_check in results.json")
    log("\n".join(bar_lines))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(dict(config=cfg, systems=results, delay_check=delays,
                       bars=[dict(ok=ok, bar=line) for ok, line in bars]), f, indent=1)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(f"# Denoise evaluation\n\n{len(mixtures)} mixtures, seed {args.seed}, SNR {SNRS} dB "
                f"(plain RMS), scored by `nerve score` at 16 kHz after each system's delay is removed.\n\n")
        f.write(tables(results, md=True))
        f.write("\n| system | delay (samples) | run time (s) | x real time |\n|---|---:|---:|---:|\n")
        for n, r in results.items():
            f.write(f"| {n} | {r['delay_samples']} | {r['seconds']} | {r['x_real_time'] or '-'} |\n")
        f.write("\n```\n" + "\n".join(bar_lines) + "\n```\n")
    log(f"wrote {args.out}/results.json and results.md ({cfg['total_seconds']} s in all)")
    return 1 if args.strict and (not bars or not all(ok for ok, _ in bars)) else 0


if __name__ == "__main__":
    sys.exit(main())
