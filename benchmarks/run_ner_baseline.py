"""The plain Hugging Face token-classification recipe, as a baseline for araevent's training.

    python benchmarks/run_ner_baseline.py --data-dir DIR --out OUT [--epochs 3]

What ``transformers``' ``run_ner.py`` example does with
``--train_sampling_strategy group_by_length``, written small and offline for one
comparison (``benchmarks/aqmar.py``, ``training_vs_run_ner``): read ``DIR/train.conll``
and ``DIR/dev.conll`` (``token TAG`` lines, a blank line between sentences), tokenise
each sentence's words with ``is_split_into_words`` (truncated at ``max_length``), label
the first subword of each word (the others -100), and train an
``AutoModelForTokenClassification`` with ``Trainer`` (``group_by_length``,
``DataCollatorForTokenClassification``), dev scored once at the end (seqeval on the
first subwords' tags). The model has the shape of araevent's ``model=tiny`` (random
BERT) and the tokenizer is araevent's tiny WordPiece built on the training words with
the same normalisation, so the two systems differ in their pipelines only.

Writes ``OUT/baseline.json``: wall and train times, non-padding tokens per epoch
(subwords plus ``[CLS]``/``[SEP]``), tokens/s, steps and the dev F1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """Sentences as ``(words, tags)`` from ``token TAG`` lines."""
    out: list[tuple[list[str], list[str]]] = []
    words: list[str] = []
    tags: list[str] = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            if words:
                out.append((words, tags))
            words, tags = [], []
            continue
        token, tag = line.rsplit(" ", 1)
        words.append(token)
        tags.append(tag)
    if words:
        out.append((words, tags))
    return out


def tiny_settings() -> dict:
    """The sizes and trainer values of ``model=tiny trainer=cpu`` (from the config files)."""
    from omegaconf import OmegaConf

    model = OmegaConf.load(CONFIGS / "model" / "tiny.yaml")
    trainer = OmegaConf.merge(
        OmegaConf.load(CONFIGS / "trainer" / "_base.yaml"),
        OmegaConf.load(CONFIGS / "trainer" / "cpu.yaml"),
    )
    return {
        "tiny": OmegaConf.to_container(model.tiny),
        "normalization": OmegaConf.to_container(model.normalization),
        "max_length": int(model.max_length),
        "learning_rate": float(trainer.learning_rate),
        "batch_size": int(trainer.batch_size),
        "eval_batch_size": int(trainer.eval_batch_size),
        "warmup_ratio": float(trainer.warmup_ratio),
        "weight_decay": float(trainer.weight_decay),
    }


def encode(tokenizer, sentences, label2id: dict[str, int], norm, max_length: int) -> dict:
    """Input ids and first-subword labels of each sentence, as run_ner.py builds them."""
    batch = tokenizer(
        [[norm(w) for w in words] for words, _ in sentences],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
    )
    labels = []
    for k, (_, tags) in enumerate(sentences):
        row, prev = [], None
        for w in batch.word_ids(k):
            row.append(-100 if w is None or w == prev else label2id[tags[w]])
            prev = w
        labels.append(row)
    return {"input_ids": batch["input_ids"], "labels": labels}


def main(argv: list[str] | None = None) -> dict:
    """Train, score dev once, write ``OUT/baseline.json``; returns its content."""
    started = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)

    import torch
    from datasets import Dataset
    from seqeval.metrics import f1_score
    from transformers import (
        AutoModelForTokenClassification,
        BertConfig,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
        set_seed,
    )
    from transformers.utils import logging as hf_logging

    from araevent.modeling import train_tiny_tokenizer
    from araevent.text import Normalization

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    s = tiny_settings()
    set_seed(args.seed)
    train = read_conll(args.data_dir / "train.conll")
    dev = read_conll(args.data_dir / "dev.conll")
    norm = Normalization(**s["normalization"])
    t = s["tiny"]
    tokenizer = train_tiny_tokenizer(
        ([norm(w) for w in words] for words, _ in train),
        vocab_size=t["vocab_size"],
        min_frequency=t["min_frequency"],
        max_length=s["max_length"],
    )
    labels = sorted({tag for _, tags in train + dev for tag in tags})
    label2id = {x: i for i, x in enumerate(labels)}
    train_ds = Dataset.from_dict(encode(tokenizer, train, label2id, norm, s["max_length"]))
    dev_ds = Dataset.from_dict(encode(tokenizer, dev, label2id, norm, s["max_length"]))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=t["hidden_size"],
        num_hidden_layers=t["num_layers"],
        num_attention_heads=t["num_heads"],
        intermediate_size=t["intermediate_size"],
        hidden_dropout_prob=t["dropout"],
        attention_probs_dropout_prob=t["dropout"],
        max_position_embeddings=s["max_length"],
        pad_token_id=tokenizer.pad_token_id,
        id2label=dict(enumerate(labels)),
        label2id=label2id,
    )
    model = AutoModelForTokenClassification.from_config(config)
    targs = TrainingArguments(
        output_dir=str(args.out / "checkpoints"),
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        learning_rate=s["learning_rate"],
        per_device_train_batch_size=s["batch_size"],
        per_device_eval_batch_size=s["eval_batch_size"],
        num_train_epochs=args.epochs,
        warmup_steps=s["warmup_ratio"],
        weight_decay=s["weight_decay"],
        train_sampling_strategy="group_by_length",
        seed=args.seed,
        use_cpu=True,
        report_to=[],
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=targs,
        train_dataset=train_ds,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
    )
    first_step = time.perf_counter() - started
    result = trainer.train()
    out = trainer.predict(dev_ds)
    pred_ids = out.predictions.argmax(-1)
    gold_tags, pred_tags = [], []
    for row, gold in zip(pred_ids, out.label_ids, strict=True):
        keep = gold != -100
        gold_tags.append([labels[i] for i in gold[keep]])
        pred_tags.append([labels[i] for i in row[keep]])
    tokens = int(sum(len(x) for x in train_ds["input_ids"]))
    runtime = float(result.metrics["train_runtime"])
    res = {
        "command": "python benchmarks/run_ner_baseline.py " + " ".join(argv or sys.argv[1:]),
        "epochs": args.epochs,
        "batch_size": s["batch_size"],
        "model": t,
        "sentences": len(train),
        "non_padding_tokens_per_epoch": tokens,
        "global_steps": trainer.state.global_step,
        "seconds_to_first_step": round(first_step, 2),
        "train_runtime_s": round(runtime, 2),
        "non_padding_tokens_per_s": round(tokens * args.epochs / runtime, 1),
        "dev_strict_f1_words": round(float(f1_score(gold_tags, pred_tags)), 4),
        "torch_threads": torch.get_num_threads(),
        "wall_s": round(time.perf_counter() - started, 2),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "baseline.json").write_text(json.dumps(res, indent=1) + "\n", "utf-8")
    return res


if __name__ == "__main__":
    main()
