"""Re-generate reports/audit/ for one audit environment (``nox -s "audit(env=...)" -- report``).

transformers4: BERT and GPT-2, PyTorch and Flax classes of transformers 4.57, and the ViT-style
torch model of tests/audit_models.py; transformers5: BERT and GPT-2 in transformers 5.x. Then
every comparison whose two audits exist (torch vs Flax in 4.57; 4.57 vs 5.x). Each audit and
comparison goes through the real CLI; its terminal output is kept beside its JSON.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path("reports") / "audit"  # relative to ROOT (the CLI runs there): no absolute paths
#                                  in the committed outputs
AUDITS = {
    "transformers4": [("bert-torch-4", "torch", "bert_torch"),
                      ("bert-flax-4", "flax", "bert_flax"),
                      ("gpt2-torch-4", "torch", "gpt2_torch"),
                      ("gpt2-flax-4", "flax", "gpt2_flax"),
                      ("vit-torch", "torch", "vit")],
    "transformers5": [("bert-torch-5", "torch", "bert_torch"),
                      ("gpt2-torch-5", "torch", "gpt2_torch")],
}
COMPARISONS = [("bert-torch-4", "bert-flax-4"), ("gpt2-torch-4", "gpt2-flax-4"),
               ("bert-torch-4", "bert-torch-5"), ("gpt2-torch-4", "gpt2-torch-5")]


def cli(*args: str, log: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "initspec.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, check=False)
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    print(proc.stdout.splitlines()[-1])


def main(env: str) -> None:
    (ROOT / OUT).mkdir(parents=True, exist_ok=True)
    for i, (name, framework, factory) in enumerate(AUDITS[env]):
        # a seed range of its own per audit: two audits compared never share their seeds
        seed = str(1000 * (i + 1) + (0 if env == "transformers4" else 100))
        cli("audit", framework, f"tests.audit_models:{factory}", "--seed", seed, "--json",
            str(OUT / f"{name}.json"), log=ROOT / OUT / f"{name}.txt")
    for a, b in COMPARISONS:
        if (ROOT / OUT / f"{a}.json").exists() and (ROOT / OUT / f"{b}.json").exists():
            cli("audit", "--compare", str(OUT / f"{a}.json"), str(OUT / f"{b}.json"), "--json",
                str(OUT / f"compare-{a}-vs-{b}.json"), log=ROOT / OUT / f"compare-{a}-vs-{b}.txt")


if __name__ == "__main__":
    main(sys.argv[1])
