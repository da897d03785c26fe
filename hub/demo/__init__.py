"""A synthetic demo district and the four department extracts the hub ingests.

`generate_demo(out_dir)` writes the grid registry (UTF-8 CSV), civil affairs' elderly care
extract (GBK CSV), the medical extract (XLSX with numeric IDs), the stale employment extract
(JSON Lines), the grid crosswalk and manifest.json: the answer key listing each extract's
planted defects with the quarantine rule each must trigger. The source YAMLs that map these
extracts onto the contracts are connectors/sources/<dataset>.yaml.
"""

from hub.demo.defects import Defect
from hub.demo.generate import generate_demo
from hub.demo.manifest import DatasetManifest, DemoManifest, load_manifest

__all__ = ["DatasetManifest", "Defect", "DemoManifest", "generate_demo", "load_manifest"]
