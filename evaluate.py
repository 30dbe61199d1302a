"""Evaluate a model folder: ``python evaluate.py model_path=DIR [split=test]``."""

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from araevent.config import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from araevent.entrypoints import run_evaluation

    run_evaluation(cfg, HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    main()
