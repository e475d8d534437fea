#!/usr/bin/python3
"""bpe_peer.py - the peer of bench_bpe.c: SentencePiece (Debian's
python3-sentencepiece) trains a BPE model of the same vocabulary size on
the same 25,000 IMDB training reviews and encodes them, timed the same
way (wall clock and process CPU time).  SentencePiece's BPE differs in
detail (it merges within whitespace-split pieces of characters, with
byte_fallback for unseen characters), so compare orders of magnitude.

    /usr/bin/python3 bench/bpe_peer.py [aclImdb dir] [vocab_size] [threads]
"""
import io
import os
import sys
import time

import sentencepiece as spm


def reviews(root):
    texts = []
    for label in ("neg", "pos"):
        d = os.path.join(root, "train", label)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                texts.append(f.read())
    return texts


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "data/aclImdb"
    vocab = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    texts = reviews(root)
    model = io.BytesIO()
    w0, c0 = time.perf_counter(), time.process_time()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model,
        vocab_size=vocab, model_type="bpe", byte_fallback=True,
        character_coverage=1.0, num_threads=threads,
        max_sentence_length=1 << 16, input_sentence_size=0,
        minloglevel=2)
    w1, c1 = time.perf_counter(), time.process_time()
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    ids = sp.encode(texts)
    w2, c2 = time.perf_counter(), time.process_time()
    n = sum(len(x) for x in ids)
    bad = sum(sp.decode(x) != t for x, t in zip(ids, texts))
    print("sentencepiece %s BPE, %d thread(s)" % (spm.__version__, threads))
    print("train: vocab %d in %.2f s wall, %.2f s CPU" %
          (sp.get_piece_size(), w1 - w0, c1 - c0))
    print("encode: %d ids (%.1f per review) in %.2f s wall, %.2f s CPU" %
          (n, n / len(texts), w2 - w1, c2 - c1))
    print("round trip: %d of %d reviews differ" % (bad, len(texts)))


if __name__ == "__main__":
    main()
