"""Write the demo corpus (train.jsonl, test.jsonl, dictionary.txt) next to this script.

The captions are generated from templates written for this project: a scene type (city street,
beach, mountains, ...) picks a main clause and a few detail clauses; people and sky
clauses are shared across scenes. So labels co-occur with scene types (learnable) while
counts, adjectives, clause order and distractor nouns vary. A caption's labels are exactly
the vocabulary nouns that occur in it, singular or plural. Deterministic: same seed, same files.

Usage: python data/make_demo.py [--seed N] [--train 500] [--test 100]
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from textig.data import Caption, write_dataset

SEED = 12  # the seed of the committed corpus

# label noun -> its plural (the vocabulary; everything else in the captions is a distractor)
NOUNS: dict[str, str] = {
    "beach": "beaches", "bench": "benches", "bicycle": "bicycles", "bird": "birds",
    "boat": "boats", "boy": "boys", "bridge": "bridges", "building": "buildings",
    "bus": "buses", "car": "cars", "child": "children", "church": "churches",
    "cloud": "clouds", "cow": "cows", "desert": "deserts", "dog": "dogs", "dune": "dunes",
    "field": "fields", "flower": "flowers", "football": "footballs", "forest": "forests",
    "fountain": "fountains", "fruit": "fruits", "garden": "gardens", "girl": "girls",
    "glacier": "glaciers", "grass": "grasses", "harbour": "harbours", "hat": "hats",
    "hill": "hills", "horse": "horses", "house": "houses", "island": "islands",
    "jacket": "jackets", "lake": "lakes", "llama": "llamas", "man": "men",
    "market": "markets", "mountain": "mountains", "palm": "palms", "player": "players",
    "river": "rivers", "road": "roads", "rock": "rocks", "roof": "roofs", "sand": "sands",
    "sea": "seas", "sheep": "sheep", "shop": "shops", "sky": "skies", "snow": "snows",
    "square": "squares", "statue": "statues", "street": "streets", "sun": "suns",
    "sunset": "sunsets", "table": "tables", "tourist": "tourists", "tower": "towers",
    "tree": "trees", "umbrella": "umbrellas", "valley": "valleys", "wall": "walls",
    "wave": "waves", "window": "windows", "woman": "women",
}  # fmt: skip

WORDS: dict[str, tuple[str, ...]] = {
    "colour": ("white", "red", "yellow", "blue", "green", "grey", "brown", "orange", "pink"),
    "bloom": ("red", "yellow", "white", "pink", "purple", "orange"),
    "size": ("small", "large", "big", "tiny", "huge", "tall", "low", "long"),
    "age": ("old", "new", "historic", "modern", "ruined", "restored"),
    "few": ("two", "three", "four", "five", "several", "many", "a few", "some"),
    "where": ("in the background", "in the foreground", "on the left", "on the right",
              "in the distance", "behind it", "at the back"),
    "sky": ("a blue sky", "a grey sky", "a cloudy sky", "a clear blue sky", "a pale sky"),
    "clothes": ("a {colour} jacket", "a {colour} hat", "a {colour} shirt",
                "{colour} trousers", "a {colour} jacket and a {colour} hat",
                "a {colour} scarf", "a backpack"),
}  # fmt: skip

PEOPLE = (
    "a (man|woman|boy|girl) with {clothes} is standing {where}",
    "{few} tourists with {clothes} are (walking|posing|looking around)",
    "a (man|woman) and a (child|girl|boy) are walking (past|towards the camera|away)",
    "{few} (men|women|children) are sitting on a (wooden|stone|{colour}) bench",
    "a (woman|man) in {clothes} is taking a photo",
)
SKY = (
    "{sky} with (white|dark|grey|fluffy) clouds",
    "(white|grey|dark) clouds in {sky}",
    "{sky} (above|over) it",
    "the sun is (shining|setting) (in|through) {sky}",
    "a (red|orange|golden) sunset (in|behind) the clouds",
    "(a few|some|dense) (white|grey) clouds (hang|drift) (low|above)",
)

SCENES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "street": (
        ("a (narrow|wide|busy|quiet) street with {colour} houses (on both sides|and balconies)",
         "{few} (parked|old|{colour}) cars on a (cobbled|paved|steep) street",
         "view of a street lined with {age} buildings and (shops|lamps)"),
        ("a {colour} bus (drives|is driving) (down the road|along the street)",
         "{few} bicycles (leaning against|in front of) a {colour} wall",
         "shops with {colour} (awnings|signs|doors) (on the left|on the ground floor)",
         "houses with {colour} roofs and (small|wooden|arched) windows",
         "a (lamp|traffic light|balcony) (at the corner|above the pavement)",
         "(people|pedestrians) (crossing|walking along) the road"),
    ),
    "square": (
        ("a {age} church with a {size} tower on a (paved|large|sunny) square",
         "a (stone|bronze|white) statue in the (middle|centre) of a square",
         "a (large|small|busy) square (surrounded by|with) {age} buildings"),
        ("a fountain (in front of|beside) the church",
         "pigeons (on the|around the) (fountain|statue|steps)",
         "the church has a {colour} (facade|roof|door)",
         "{few} (palm|tall|{colour}) trees (around|at the edge of) the square",
         "a (clock|bell) tower (rises|stands) {where}",
         "benches (along|under) the (trees|wall)"),
    ),
    "market": (
        ("a (busy|crowded|colourful|small) market with stalls selling (fruit|vegetables|fabric)",
         "(women|men) (selling|buying) fruit at a (street|covered|local) market",
         "(stalls|tables) full of {colour} fruit at a market"),
        ("{colour} umbrellas (shade|cover) the tables",
         "a woman with a {colour} hat (sits|is sitting) behind a table",
         "(baskets|boxes|sacks) of (potatoes|bread|fruit) on the (ground|table)",
         "{few} (people|customers|shoppers) between the stalls",
         "a (white|{colour}) wall (behind|with) the stalls",
         "shops (line|surround) the market"),
    ),
    "beach": (
        ("a (long|sandy|wide|white) beach with {few} palm trees",
         "waves (breaking|crashing) on the rocks of a (small|rocky|quiet) beach",
         "(turquoise|blue|dark) sea (and|with) a (sandy|narrow) beach"),
        ("{few} boats (on the sea|near the shore|anchored in the bay)",
         "(tourists|people) (lying|sitting) on the sand (under umbrellas|in the sun)",
         "an island {where}",
         "(white|high|small) waves (roll onto|reach) the sand",
         "{colour} (umbrellas|deck chairs|towels) on the beach",
         "(dark|black|grey) rocks {where}"),
    ),
    "mountain": (
        ("a (snow-covered|steep|rocky|green) mountain (above|behind) a (wide|green|deep) valley",
         "view of (a|the) valley with (high|snowy|brown) mountains {where}",
         "a (blue|dark|calm) lake (surrounded by|at the foot of) mountains"),
        ("a river (flows|winds|runs) through the valley",
         "snow on the (peaks|summits|mountain tops)",
         "(dry|green|yellow) grass and {size} rocks in the foreground",
         "a (small|wooden|stone) house (on the slope|near the lake|by the river)",
         "(pine|green|dark) trees (on the hills|along the shore|{where})",
         "a (dirt|gravel|narrow) road (leads|winds) (up the hill|into the valley)",
         "(horses|cows|sheep) grazing (in the valley|by the lake|on the slope)"),
    ),
    "desert": (
        ("(orange|yellow|red|golden) sand dunes in the desert",
         "a (dry|stony|vast) desert with (low|bare|rocky) hills {where}",
         "a (dusty|straight|lonely) road (crosses|leads through) the desert"),
        ("{few} llamas (grazing|standing) (on the plain|near the road|{where})",
         "(red|brown|huge) rocks (rise|stand) {where}",
         "(a jeep|a truck|tyre tracks) in the sand",
         "a (salt|dry) (lake|flat) {where}",
         "(tourists|a guide) (walking|climbing) up a dune",
         "(no|very few) (plants|bushes) (grow here|in sight)",
         "(a man|two tourists|a guide) riding (horses|a horse) (across the plain|along the road)"),
    ),
    "farm": (
        ("a (green|yellow|wide) field with {few} (cows|horses|sheep)",
         "(cows|horses|sheep) grazing (in|on) a (green|hilly|fenced) field",
         "a (small|wooden|{colour}) farm house on a (green|low) hill"),
        ("a (man|farmer) with a dog (walks|stands) (along the fence|by the gate)",
         "(tall|dry|green) grass (along|beside) the (road|fence|river)",
         "(a fence|a stone wall|a hedge) (divides|runs across) the field",
         "{few} trees (on the hill|{where})",
         "a (tractor|cart|barn) {where}",
         "(birds|crows|swallows) (above|over) the field"),
    ),
    "harbour": (
        ("{few} (fishing|sailing|wooden|{colour}) boats in a (small|busy|quiet) harbour",
         "a harbour with {colour} houses (along the water|on the hill behind)",
         "view of the harbour (from the pier|from above|at dawn)"),
        ("a (stone|long|wooden|steel) bridge (over|across) the (river|water|harbour)",
         "(seagulls|birds) (on the pier|flying over the water)",
         "(fishermen|sailors) (repairing|unloading) (nets|boats) on the (quay|pier)",
         "houses with {colour} roofs (on the hill|along the shore)",
         "a (ship|ferry|yacht) (leaves|enters) the harbour",
         "(calm|dark|green) water {where}"),
    ),
    "football": (
        ("{few} children (playing|kicking) (a|the) football on a (green|dusty|muddy) field",
         "(boys|girls|players) in {colour} shirts (playing|running after the) football",
         "a football (match|game) on a (grass|sand|small) field"),
        ("a (white|{colour}|brick) house {where}",
         "a (player|boy|girl) (in goal|with the ball|runs after the ball)",
         "(spectators|parents|people) (watching|standing) (along the side|behind the goal)",
         "(tall|green|leafy) trees (around|behind) the field",
         "a (goal|net|fence) {where}",
         "(houses|a wall|a school) (behind|next to) the field"),
    ),
    "garden": (
        ("a (green|well-kept|small|public) garden with {bloom} flowers",
         "{bloom} flowers (in|along) the (flower beds|paths) of a garden",
         "a (quiet|shady|sunny) garden with a fountain and benches"),
        ("(palm|tall|old) trees (shade|line) the (paths|lawn)",
         "a (woman|girl|man) (sits|is reading) on a bench",
         "a (stone|marble|white) statue (among|behind) the flowers",
         "a (white|{colour}) wall (around|at the end of) the garden",
         "(a gardener|people) (walking|working) (on the lawn|between the beds)",
         "(birds|butterflies) (in|above) the (bushes|grass)"),
    ),
    "portrait": (
        ("a (young|old|smiling) (man|woman) with {clothes} (posing|standing) by a {colour} wall",
         "a (girl|boy|child) with {clothes} (looking|smiling) at the camera",
         "(a woman holding a child|two girls holding hands) in front of a (door|window)"),
        ("a {colour} window {where}",
         "a (dog|cat) (sits|lies) (at their feet|next to them|on the step)",
         "(flowers|plants) in (pots|boxes) (by|under) the window",
         "the (man|woman) (is wearing|carries) {clothes}",
         "(sunlight|shadow) (on|across) the wall",
         "a (doorway|staircase|curtain) {where}"),
    ),
    "forest": (
        ("a (narrow|muddy|winding) path through a (dense|dark|green|misty) forest",
         "(tall|old|thick) trees in a (tropical|pine|quiet) forest",
         "a (small|clear|fast) river (in|through) the forest"),
        ("(ferns|moss|leaves) (cover|on) the ground",
         "(large|mossy|grey) rocks (in|beside) the (river|path)",
         "(birds|parrots|monkeys) in the (trees|branches)",
         "(a hiker|tourists|a guide) with {clothes} (on the path|crossing the river)",
         "a (wooden|rope|small) bridge (over|across) the (river|stream)",
         "(light|sun rays|fog) (between|through) the trees"),
    ),
    "snow": (
        ("a (white|huge|blue) glacier (between|below) (steep|dark|snowy) mountains",
         "(fresh|deep|white) snow on the (slopes|hills|roofs)",
         "a (frozen|icy|small) lake (covered|surrounded) by snow"),
        ("(climbers|tourists|skiers) with {clothes} (on the glacier|in the snow)",
         "(blue|cracked|dirty) ice {where}",
         "a (hut|cabin|small house) (covered in snow|below the glacier)",
         "(dark|bare|grey) rocks (stick out of|between) the snow",
         "(fog|mist) (in|over) the valley",
         "a (ski lift|path|road) (up|across) the slope"),
    ),
}  # fmt: skip

_OPTION = re.compile(r"\(([^()]*)\)")
_SLOT = re.compile(r"\{(\w+)\}")


def expand(template: str, rng: random.Random) -> str:
    """Fill ``{word-list}`` slots and ``(a|b|c)`` choices (innermost first) at random."""
    text = template
    while True:
        filled = _SLOT.sub(lambda m: rng.choice(WORDS[m.group(1)]), text)
        filled = _OPTION.sub(lambda m: rng.choice(m.group(1).split("|")), filled)
        if filled == text:
            break
        text = filled
    text = re.sub(r"\ba ([aeiou])", r"an \1", text)
    return " ".join(text.split())


_FORMS = {form: noun for noun, plural in NOUNS.items() for form in (noun, plural)}


def labels_of(text: str) -> list[str]:
    """The vocabulary nouns occurring in a caption (as a word, singular or plural), sorted."""
    return sorted({_FORMS[word] for word in re.findall(r"[a-z]+", text) if word in _FORMS})


def caption(rng: random.Random) -> str:
    """One caption: a scene's main clause, 1-2 details, maybe people and sky, in varied order."""
    main, details = SCENES[rng.choice(sorted(SCENES))]
    main_clause = expand(rng.choice(main), rng)
    extra = [expand(t, rng) for t in rng.sample(details, rng.choice((1, 2, 2, 3)))]
    if rng.random() < 0.45:
        extra.append(expand(rng.choice(PEOPLE), rng))
    if rng.random() < 0.55:
        extra.append(expand(rng.choice(SKY), rng))
    rng.shuffle(extra)
    extra.insert(0 if rng.random() < 0.75 else rng.randint(1, len(extra)), main_clause)
    return "; ".join(extra) + ";"


def generate(n: int, seed: int) -> list[tuple[str, list[str]]]:
    """``n`` distinct captions with 2-8 labels and 15-35 words, with their labels."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[tuple[str, list[str]]] = []
    while len(out) < n:
        text = caption(rng)
        labels = labels_of(text)
        if text in seen or not 2 <= len(labels) <= 8 or not 15 <= len(text.split()) <= 35:
            continue
        seen.add(text)
        out.append((text, labels))
    return out


def build(n_train: int, n_test: int, seed: int) -> tuple[list[str], list[Caption], list[Caption]]:
    """Vocabulary and the train/test captions (ids demo/0001, ...; test ids follow train)."""
    vocabulary = sorted(NOUNS)
    index = {name: i for i, name in enumerate(vocabulary)}
    captions = [
        Caption(f"demo/{k:04d}", text, tuple(labels), tuple(index[x] for x in labels))
        for k, (text, labels) in enumerate(generate(n_train + n_test, seed), start=1)
    ]
    unused = set(vocabulary).difference(x for c in captions[:n_train] for x in c.labels)
    if unused:
        raise SystemExit(f"labels never used in train: {', '.join(sorted(unused))}")
    return vocabulary, captions[:n_train], captions[n_train:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--train", type=int, default=500)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    vocabulary, train, test = build(args.train, args.test, args.seed)
    write_dataset(args.out, vocabulary, train, test)
    print(f"wrote {args.out}: {len(train)} train / {len(test)} test, {len(vocabulary)} labels")


if __name__ == "__main__":
    main()
