"""Captions and their labels: the data model, loaders, the official importer and statistics."""

from textig.data.demo import demo_data_dir
from textig.data.jsonl import load_dataset, read_captions, read_dictionary, write_dataset
from textig.data.model import SPLITS, Caption, Dataset
from textig.data.official import OfficialImport, import_official
from textig.data.stats import DatasetStats, dataset_stats, format_stats

__all__ = [
    "SPLITS",
    "Caption",
    "Dataset",
    "DatasetStats",
    "OfficialImport",
    "dataset_stats",
    "demo_data_dir",
    "format_stats",
    "import_official",
    "load_dataset",
    "read_captions",
    "read_dictionary",
    "write_dataset",
]
