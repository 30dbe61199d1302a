"""Publish a trained model to the Hugging Face Hub with a model card that carries its scores.

RUN_OR_MODEL is a run folder (train.py's output) or its model/ folder. The upload
folder holds the safetensors weights, the tokenizer, config.json (labels, layers,
preprocessing), known_words.txt and a README.md model card: YAML metadata with a
model-index of every split scored in metrics.json (entity, trigger identification and
trigger classification F1, seqeval strict and character-span), then usage, labels,
training settings, the evaluation table and limitations. Nothing else goes up (no
optimizer states, no .hydra/, no checkpoints) unless --include names it; the model
folder must load as Extractor loads it; the folder's files are checked for absolute
local paths and tokens, the names of --include files also for this machine's host
name, and the card is parsed back locally. tensorboard/ goes up only when a pattern
starts with it (--include tensorboard), never through a broader glob such as '*';
its event files go up with the host name in their names replaced by "host".

--measure-parity first measures how often transformers.pipeline agrees with araevent
on the run's test split (dev without one) and saves it in metrics.json (parity); the
card reports it, or says it was not measured. Training does not measure it.

--dry-run DIR writes the folder to DIR and uploads nothing. Otherwise the token comes
from HF_TOKEN or the `hf auth login` cache, and the upload needs HF_HUB_OFFLINE=0
(the Makefile sets it to 1 by default).

Exit status: 0 done, 2 usage errors (no token, offline mode, a missing or broken model
folder, a local path or host name in an --include file, the Hub refusing a step).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from araevent import hub


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register publish's options."""
    parser.add_argument(
        "source", type=Path, metavar="RUN_OR_MODEL", help="run folder or model folder to publish"
    )
    parser.add_argument(
        "--repo-id",
        required=True,
        metavar="OWNER/NAME",
        help="Hub model repository, created if missing",
    )
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument(
        "--revision",
        metavar="BRANCH",
        help="upload to this branch (created if missing) instead of main",
    )
    parser.add_argument(
        "--license",
        default="apache-2.0",
        metavar="ID",
        help="license id for the card (default: apache-2.0; check the terms "
        "of your data and base model)",
    )
    parser.add_argument(
        "--include",
        nargs="+",
        default=[],
        metavar="GLOB",
        help="extra files to upload, globs relative to the run folder "
        "(e.g. report.md predictions.jsonl); files under model/ land beside "
        "the weights",
    )
    parser.add_argument(
        "--measure-parity",
        action="store_true",
        help="first measure transformers.pipeline parity on the run's test split (dev "
        "without one), on this machine, and save it in metrics.json for the card",
    )
    parser.add_argument(
        "--dry-run",
        type=Path,
        metavar="DIR",
        help="write the upload folder to DIR (missing or empty) and upload nothing",
    )


def _describe(folder: hub.PublishFolder) -> None:
    splits = sorted({r.dataset_split for r in folder.eval_results})
    print(f"upload folder {folder.path}: {', '.join(folder.files)}")
    print(
        f"model card: {len(folder.eval_results)} model-index results "
        f"({', '.join(splits) or 'no split scored'}), parsed back with huggingface_hub"
    )


def run(args: argparse.Namespace) -> int:
    """Build and check the folder, then upload it unless ``--dry-run``; 0 on success."""
    repo_id = hub.check_repo_id(args.repo_id)
    source = hub.load_source(args.source)
    if args.measure_parity:  # before any upload: a failure leaves the Hub untouched
        # torch and transformers: imported only when asked, so `araevent --help` stays quick.
        from araevent.parity import record_parity

        p = source.metrics["parity"] = record_parity(source.run_dir)
        print(
            f"pipeline parity on the {p['split']} split ({p['documents']} documents): "
            f"{100 * p['agreement']:.1f}% of exact character spans agree; saved in "
            f"{source.run_dir / 'metrics.json'}"
        )
    options = {
        "repo_id": repo_id,
        "license_id": args.license,
        "revision": args.revision,
        "include": args.include,
    }
    if args.dry_run is not None:
        folder = hub.build_folder(source, args.dry_run, token=hub.find_token(), **options)
        _describe(folder)
        print(
            f"dry run: nothing uploaded; to upload, run again without --dry-run "
            f"(HF_HUB_OFFLINE=0 and a token) to {repo_id}"
            + (f" branch {args.revision}" if args.revision else "")
        )
        return 0
    token = hub.require_token()  # before any network call
    api = hub.connect(token)  # refuses offline mode; makes no call yet
    with tempfile.TemporaryDirectory(prefix="araevent-publish-") as tmp:
        folder = hub.build_folder(source, Path(tmp) / "upload", token=token, **options)
        _describe(folder)
        url = hub.upload(
            folder,
            source,
            repo_id,
            token=token,
            private=args.private,
            revision=args.revision,
            api=api,
        )
    print(
        f"uploaded run {source.name} to https://huggingface.co/{repo_id}"
        + (f" (branch {args.revision})" if args.revision else "")
        + f": {url}"
    )
    return 0
