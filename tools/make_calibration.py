"""Make the real-signal calibration and held-out evaluation sets of tests/data/quantize/
for the MLPerf Tiny float models (run once; tests read the .npy files, so they need neither
espeak-ng nor sox nor scikit-image):

  ic_{cal,eval}.npy   uint8 (N, 32, 32, 3): CIFAR-like 32x32 patches of the natural photos
                      bundled in scikit-image's wheel (skimage.data, no download): random
                      crops of 48-256 px, area-resized; calibration and evaluation come
                      from disjoint photos. The model takes raw 0..255 pixels.
  kws_{cal,eval}.npy  float32 (N, 49, 10, 1): MLPerf Tiny KWS MFCCs of 1 s clips of words
                      spoken by espeak-ng (the ten keywords and other words, various voices,
                      speeds, pitches, offsets, gains, with low background noise, some
                      silence): 30 ms Hann window, 20 ms stride, 512-point FFT magnitude,
                      40 mel bins (HTK scale, 20-4000 Hz, as tf.signal), log(mel + 1e-6),
                      DCT-II scaled by 1/sqrt(2*40), first 10 coefficients. Calibration and
                      evaluation use disjoint voices.
  ad_{cal,eval}.npy   float32 (N, 640): MLPerf Tiny AD features, 5 consecutive frames of a
                      128-bin log-mel power spectrogram (n_fft 1024, hop 512, Slaney mel
                      filters, 10*log10(mel + eps)) of machine-like audio made with sox
                      (hums with harmonics, motor-like tremolo, brown/pink noise, sweeps)
                      and espeak-ng speech; disjoint recipes for calibration and evaluation.

    python tools/make_calibration.py [--out tests/data/quantize] [--n 128] [--n-ic-eval 512]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import wave

import numpy as np

SR = 16000


# -- audio helpers --------------------------------------------------------------------------
def read_wav(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        raw = w.readframes(w.getnframes())
        assert w.getsampwidth() == 2 and w.getframerate() == SR, (path, w.getframerate())
        x = np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0
        return x.reshape(-1, w.getnchannels()).mean(axis=1)


def espeak(text: str, voice: str, speed: int, pitch: int, tmp: str) -> np.ndarray:
    raw, out = os.path.join(tmp, "s.wav"), os.path.join(tmp, "s16.wav")
    subprocess.run(["espeak-ng", "-w", raw, "-v", voice, "-s", str(speed), "-p", str(pitch), text], check=True,
                   capture_output=True)
    subprocess.run(["sox", raw, "-r", str(SR), "-b", "16", "-c", "1", out], check=True, capture_output=True)
    return read_wav(out)


def sox_synth(args: list, seconds: float, tmp: str) -> np.ndarray:
    out = os.path.join(tmp, "m.wav")
    subprocess.run(["sox", "-n", "-r", str(SR), "-b", "16", "-c", "1", out, "synth", str(seconds)] + args,
                   check=True, capture_output=True)
    return read_wav(out)


# -- KWS MFCC (MLPerf Tiny keyword spotting front end, after tf.signal) -----------------------
def hz_to_mel_htk(f):
    return 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)


def tf_mel_matrix(n_mel=40, n_fft_bins=257, sr=SR, lo=20.0, hi=4000.0):
    freqs = np.linspace(0.0, sr / 2, n_fft_bins)[1:]   # the DC bin gets no weight
    spec_mel = hz_to_mel_htk(freqs)[:, None]
    edges = np.linspace(hz_to_mel_htk(lo), hz_to_mel_htk(hi), n_mel + 2)
    left, center, right = edges[:-2], edges[1:-1], edges[2:]
    w = np.maximum(0.0, np.minimum((spec_mel - left) / (center - left), (right - spec_mel) / (right - center)))
    return np.vstack([np.zeros((1, n_mel)), w])


def kws_mfcc(audio: np.ndarray) -> np.ndarray:
    """(49, 10) MFCCs of one second of 16 kHz audio in [-1, 1]."""
    frame, step, nfft = 480, 320, 512
    n = 1 + (len(audio) - frame) // step
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)  # periodic Hann
    frames = np.stack([audio[i * step:i * step + frame] * win for i in range(n)])
    mag = np.abs(np.fft.rfft(frames, nfft))
    log_mel = np.log(mag @ tf_mel_matrix() + 1e-6)
    k = np.arange(40)
    dct = 2 * np.cos(np.pi * np.outer(np.arange(2 * 40)[:40], 2 * k + 1) / (2 * 40))  # (coef, mel)
    return (log_mel @ dct.T / np.sqrt(2 * 40))[:, :10].astype(np.float32)


WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
OTHER = ["bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow", "seven", "zero"]
VOICES = {"cal": ["en-us", "en-gb", "en-gb-scotland", "en-029"],
          "eval": ["en-gb-x-rp", "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]}
VARIANTS = {"cal": ["", "+m1", "+f2", "+m3", "+f4", "+m5"], "eval": ["", "+f1", "+m2", "+f3", "+m4", "+m6"]}


def kws_set(split: str, n: int, rng, tmp: str) -> np.ndarray:
    out = []
    noise = sox_synth(["brownnoise"], 20, tmp) + sox_synth(["pinknoise"], 20, tmp)
    for i in range(n):
        clip = np.zeros(SR, np.float32)
        if i % 12 != 11:  # one in twelve is silence (with background noise only)
            word = WORDS[i % 10] if i % 12 < 10 else OTHER[rng.integers(len(OTHER))]
            voice = VOICES[split][rng.integers(4)] + VARIANTS[split][rng.integers(6)]
            s = espeak(word, voice, int(rng.integers(120, 220)), int(rng.integers(20, 80)), tmp)[:SR]
            s = s / (np.abs(s).max() + 1e-9) * rng.uniform(0.1, 0.9)
            at = int(rng.integers(0, SR - len(s) + 1))
            clip[at:at + len(s)] = s
        at = int(rng.integers(0, len(noise) - SR))
        clip += noise[at:at + SR] * np.exp(rng.uniform(np.log(1e-4), np.log(0.03)))
        if i % 4 == 1:  # a shorter recording, zero-padded to one second (as in Speech Commands)
            clip[int(rng.integers(int(0.7 * SR), SR)):] = 0.0
        out.append(kws_mfcc(np.clip(clip, -1, 1))[:, :, None])
    return np.stack(out)


# -- AD log-mel (MLPerf Tiny anomaly detection front end, after librosa) ----------------------
def hz_to_mel_slaney(f):
    f = np.asarray(f, np.float64)
    lin = f / (200.0 / 3)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (np.log(6.4) / 27.0), lin)


def mel_to_hz_slaney(m):
    m = np.asarray(m, np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


def slaney_mel_matrix(n_mel=128, nfft=1024, sr=SR):
    fft_f = np.linspace(0, sr / 2, nfft // 2 + 1)
    pts = mel_to_hz_slaney(np.linspace(hz_to_mel_slaney(0.0), hz_to_mel_slaney(sr / 2), n_mel + 2))
    w = np.zeros((n_mel, len(fft_f)))
    for m in range(n_mel):
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        w[m] = np.maximum(0, np.minimum((fft_f - lo) / (c - lo), (hi - fft_f) / (hi - c)))
        w[m] *= 2.0 / (hi - lo)  # area normalization
    return w


def ad_vectors(audio: np.ndarray) -> np.ndarray:
    nfft, hop = 1024, 512
    x = np.pad(audio, nfft // 2)  # centred frames
    n = 1 + (len(x) - nfft) // hop
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(nfft) / nfft)
    frames = np.stack([x[i * hop:i * hop + nfft] * win for i in range(n)])
    power = np.abs(np.fft.rfft(frames)) ** 2
    log_mel = 10.0 * np.log10(power @ slaney_mel_matrix().T + np.finfo(np.float64).eps)
    return np.stack([log_mel[t:t + 5].reshape(-1) for t in range(n - 4)]).astype(np.float32)


MACHINES = {
    "cal": [["sine", "{f}", "sine", "{f2}", "brownnoise", "tremolo", "{t}", "40"],
            ["square", "{f}", "pinknoise", "tremolo", "{t}", "60"],
            ["sawtooth", "{f}", "brownnoise"],
            ["sine", "{f}-{f3}", "pinknoise"]],
    "eval": [["triangle", "{f}", "brownnoise", "tremolo", "{t}", "50"],
             ["sine", "{f}", "square", "{f2}", "pinknoise"],
             ["sawtooth", "{f}-{f3}", "whitenoise", "vol", "0.3"],
             ["square", "{f}", "sine", "{f3}", "brownnoise", "tremolo", "{t}", "30"]],
}


def ad_set(split: str, n: int, rng, tmp: str) -> np.ndarray:
    vecs = []
    recipes = MACHINES[split]
    k = 0
    while sum(len(v) for v in vecs) < n * 4:
        if k % 5 == 4:  # "other audio": speech over a hum
            voice = VOICES[split][rng.integers(4)]
            a = espeak(" ".join(rng.choice(WORDS + OTHER, 6)), voice, 160, 50, tmp)
            a = a + sox_synth(["sine", str(int(rng.integers(50, 120)))], len(a) / SR, tmp)[:len(a)] * 0.1
        else:
            f = int(rng.integers(40, 400))
            args = [s.format(f=f, f2=f * 2, f3=f * int(rng.integers(3, 8)), t=int(rng.integers(5, 40)))
                    for s in recipes[k % len(recipes)]]
            a = sox_synth(args, 3.0, tmp)
        a = a / (np.abs(a).max() + 1e-9) * rng.uniform(0.02, 0.9)
        vecs.append(ad_vectors(a.astype(np.float64)))
        k += 1
    allv = np.concatenate(vecs)
    return allv[rng.choice(len(allv), n, replace=False)]


# -- images -----------------------------------------------------------------------------------
PHOTOS = {"cal": ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "grass.png",
                  "brick.png"],
          "eval": ["camera.png", "hubble_deep_field.jpg", "ihc.png", "gravel.png", "coins.png", "retina.jpg",
                   "moon.png", "motorcycle_right.png", "cell.png", "color.png"]}


def _photo(name):
    import skimage
    from skimage import io
    img = np.asarray(io.imread(os.path.join(os.path.dirname(skimage.__file__), "data", name)))
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return img[:, :, :3].astype(np.float64)


def _resize(a, size=32):
    """Area resize of an (h, w, 3) crop to (size, size, 3)."""
    h, w, _ = a.shape
    ys = np.linspace(0, h, size + 1).astype(int)
    xs = np.linspace(0, w, size + 1).astype(int)
    out = np.empty((size, size, 3))
    for i in range(size):
        for j in range(size):
            out[i, j] = a[ys[i]:max(ys[i + 1], ys[i] + 1), xs[j]:max(xs[j + 1], xs[j] + 1)].mean(axis=(0, 1))
    return out


def ic_set(split: str, n: int, rng) -> np.ndarray:
    photos = [_photo(p) for p in PHOTOS[split]]
    out = []
    for i in range(n):
        img = photos[i % len(photos)]
        s = int(rng.integers(48, min(256, *img.shape[:2]) + 1))
        y, x = int(rng.integers(0, img.shape[0] - s + 1)), int(rng.integers(0, img.shape[1] - s + 1))
        patch = _resize(img[y:y + s, x:x + s])
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        out.append(np.clip(np.round(patch), 0, 255).astype(np.uint8))
    return np.stack(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tests/data/quantize")
    ap.add_argument("--n", type=int, default=128, help="samples per set")
    ap.add_argument("--n-ic-eval", type=int, default=512,
                    help="held-out images (more: top-1 agreement on near-tie patches is noisy)")
    ap.add_argument("--only", choices=["ic", "kws", "ad"], action="append")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for split, seed in (("cal", 1), ("eval", 2)):
            rng = np.random.default_rng(seed)
            sets = {"ic": lambda: ic_set(split, a.n if split == "cal" else a.n_ic_eval, rng), "kws": lambda: kws_set(split, a.n, rng, tmp),
                    "ad": lambda: ad_set(split, a.n, rng, tmp)}
            for name, make in sets.items():
                if a.only and name not in a.only:
                    continue
                arr = make()
                path = os.path.join(a.out, f"{name}_{split}.npy")
                np.save(path, arr)
                print(f"{path}: {arr.dtype} {arr.shape}, range {float(arr.min()):.1f}..{float(arr.max()):.1f}")


if __name__ == "__main__":
    main()
