"""Same seed and day, same bytes; another seed, another district."""

from __future__ import annotations

from pathlib import Path

from demo_kit import RESIDENTS, SEED, TODAY

from hub.demo import DemoManifest, generate_demo, load_manifest


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_and_day_give_the_same_bytes(demo: DemoManifest, out_dir: Path,
                                               tmp_path: Path) -> None:
    again = generate_demo(tmp_path / "again", residents=RESIDENTS, seed=SEED, today=TODAY)
    first, second = _files(out_dir), _files(tmp_path / "again")
    assert set(first) == {"grid.csv", "elderly_care.csv", "medical.xlsx", "employment.jsonl",
                          "grid_crosswalk.csv", "places.csv", "manifest.json"}
    assert first == second
    assert again == load_manifest(tmp_path / "again")


def test_another_seed_gives_other_residents(out_dir: Path, tmp_path: Path) -> None:
    generate_demo(tmp_path / "other", residents=RESIDENTS, seed=SEED + 1, today=TODAY)
    assert (tmp_path / "other" / "grid.csv").read_bytes() != (out_dir / "grid.csv").read_bytes()


def test_manifest_round_trips_and_reports_progress(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    made = generate_demo(tmp_path / "d", residents=300, seed=1, today=TODAY,
                         progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert load_manifest(tmp_path / "d" / "manifest.json") == made
    assert DemoManifest.load(tmp_path / "d") == made
    assert [s[1] for s in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][1] == seen[-1][2]
    assert made.residents == 300
    assert made.seed == 1
    assert made.today == TODAY
