"""Results as the other parts of the suite will write them (CONTRACT fields: neutral, conditions,
promises, recipe) for the report's tests: a second column "fake2", concepts, a verified recipe
and a docs-drift promise, added to the fake adapter's real results."""

from __future__ import annotations

import copy

CONCEPTS = {"Dense.weight": "dense.kernel", "Dense.bias": "dense.bias",
            "Embedding.weight": "embedding", "Scaled.weight": "init.he_normal"}
CALL = "fake2.Dense(..., weight_init=fake2.init.uniform(-1 / sqrt(fan_in), 1 / sqrt(fan_in)))"


def second_column(run: dict) -> dict:
    """The same run as another framework column, "fake2" (ids, names and version follow)."""
    other = copy.deepcopy(run)
    other["framework"] = other["spec"] = "fake2"
    for cell in other["cells"]:
        cell["id"] = cell["id"].replace("fake-1.0/", "fake2-1.0/", 1)
    return other


def annotate(run: dict) -> None:
    """Concepts, and the fields the notation, conditions and drift parts add to cells."""
    for cell in run["cells"]:
        cell["concept"] = CONCEPTS.get(cell["entry"])
        if cell["entry"] == "Dense.weight":
            cell["neutral"] = {"form": "VarianceScaling(1/3, fan_in, uniform)",
                               "distribution": "U(±1/√fan_in)", "variance": "1/(3·fan_in)",
                               "numbers": "U(±0.0577), Var 1.11e-3", "fan_note": None}
        if cell["entry"] == "Embedding.weight":
            cell["conditions"] = [{"kind": "off-by-default", "text": "the padding row is zero"}]
        if cell["entry"] == "Dense.weight" and run["framework"] == "fake":
            cell["promises"] = [{"id": "he", "kind": "provenance", "by": "He et al. 2015",
                                 "says": "Var 2/fan_in", "url": "https://example.invalid/he",
                                 "distribution": "N(0, 2/fan_in)", "verdict": "drift",
                                 "p_value": 1e-30, "failed_checks": ["ks", "variance"]}]


def recipe(run: dict) -> None:
    """fake2's generated recipe cell reproducing fake's dense.kernel (verified: it passes)."""
    source = next(c for c in run["cells"] if c["entry"] == "Dense.weight")
    recipe = copy.deepcopy(source)
    recipe["entry"] = "recipe.fake.dense.kernel"
    recipe["id"] = source["id"].replace("Dense.weight", "recipe.fake.dense.kernel")
    recipe.pop("neutral", None)
    recipe["concept"] = None
    recipe["recipe"] = {"concept": "dense.kernel",
                        "from": {"column": "fake", "entry": "Dense.weight",
                                 "case": source["case"]},
                        "call": CALL, "needs": "one initializer per layer", "expressible": True,
                        "gap": None, "two_sample": None}
    run["cells"].append(recipe)
