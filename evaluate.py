"""Evaluate a model folder: ``python evaluate.py model_path=DIR [split=test]``.

With no ``data=``/``data.*`` override the data the model was trained on (the
run folder's recorded data config) is scored on.
"""

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from araevent.config import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from araevent.entrypoints import run_evaluation, skip_last_collection

    skip_last_collection()

    hydra_cfg = HydraConfig.get()
    run_evaluation(cfg, hydra_cfg.runtime.output_dir, list(hydra_cfg.overrides.task))


if __name__ == "__main__":
    main()
