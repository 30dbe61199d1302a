"""Train a token classifier: ``python train.py [overrides]`` (see configs/train.yaml)."""

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from araevent.config import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from araevent.entrypoints import run_training, skip_last_collection

    skip_last_collection()

    return run_training(cfg, HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    main()
