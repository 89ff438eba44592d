"""The words patients use for red flags (shared/CLINICAL.md), as patterns over folded text.

intake.triage.free_text folds a text before these patterns see it: lower case, apostrophes
dropped ("cant", "dont"), words spelt the usual wrong ways mended (SPELLING) and phrases that mean
one thing joined (MULTI_WORD). So "cannot", "can't", "unable to" and "not able to" all read "cant";
"down below", "between my legs", "privates" and "back passage" all read "saddle"; "short of
breath" reads "breathless". Words are separated by one space and clauses by " | ".

Each Category names the safety question it points to (its code is the question's code where the
safety questions already have one), its level, the question to ask the patient directly, the
reason the clinic reads, its patterns, an optional `needs` (the whole text must also show this,
e.g. neck pain for dizziness) and an optional `ordinary` (a clause that shows this has an everyday
cause, e.g. "after the marathon", and is not flagged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.triage.questions import QUESTIONS_BY_CODE
from intake.triage.red_flags import Urgency


@dataclass(frozen=True)
class Category:
    """A kind of red flag the patient's words can show."""

    code: str
    level: Urgency
    question: str
    hint: str
    reason: str
    patterns: tuple[re.Pattern[str], ...]
    needs: re.Pattern[str] | None = None
    ordinary: re.Pattern[str] | None = None


def _variants(spellings: dict[str, str]) -> dict[str, str]:
    """'numb': 'numbness numbess ...' -> each variant maps to its word."""
    return {variant: word for word, variants in spellings.items() for variant in variants.split()}


SPELLING = _variants({
    "numb": "numbness numbess numbnes numness numbnss nummness numbe nummb numbed numbing numbish numbnesss numbbness numbniss numbs",
    "tingle": "tingling tingly tingles tinglin tingleing tinglng tinglling tinglying tinglig",
    "bladder": "bladdder bladdr blader bladda bladders bladdar bladde",
    "bowel": "bowels bowles bowells bowell",
    "toilet": "toliet toilette toilett loo lav lavatory bathroom wc toilets",
    "pee": "peeing pees peed piss pissing urinate urinating urine urination wee weeing wees widdle weeng peein",
    "wet": "wetting wets wetted",
    "poo": "poos pooing pooed pood poop pooping pooped poops faeces feces stool stools",
    "saddle": (
        "genitals genital genitalia privates crotch penis vagina vulva testicles scrotum perineum perinium clitoris willy "
        "fanny labia anus rectum buttock buttocks buttox bum bums backside butt arse ass undercarriage groin"
    ),
    "cant": "cannot couldnt cnt carnt cant",
    "calf": "calves claf calfs",
    "breathless": "breathlessness breathles",
    "weak": "weakness weeknes weekness weaknes",
    "erection": "erections errection",
    "feel": "feal",
    "fever": "fevers feverish fevery",
    "swollen": "swolen swelled swollon",
    "headache": "headaches headach hedache",
})
MULTI_WORD = {
    ("can", "not"): "cant", ("could", "not"): "cant", ("unable", "to"): "cant", ("not", "able", "to"): "cant",
    ("no", "longer", "able", "to"): "cant", ("not", "been", "able", "to"): "cant", ("havent", "been", "able", "to"): "cant",
    ("cant", "seem", "to"): "cant", ("hasnt", "been", "able", "to"): "cant", ("not", "abel", "to"): "cant",
    ("pins", "and", "needles"): "pinsneedles", ("pins", "needles"): "pinsneedles", ("pins", "n", "needles"): "pinsneedles",
    ("pins", "and", "neeldes"): "pinsneedles", ("pins", "and", "needels"): "pinsneedles",
    ("pass", "water"): "pee", ("passing", "water"): "pee", ("passed", "water"): "pee",
    ("pee", "bit"): "small bit", ("pee", "while"): "small while",
    ("down", "below"): "saddle", ("down", "there"): "saddle", ("between", "my", "legs"): "saddle",
    ("between", "the", "legs"): "saddle", ("between", "legs"): "saddle", ("back", "passage"): "saddle",
    ("private", "parts"): "saddle", ("private", "area"): "saddle", ("my", "bits"): "my saddle",
    ("nether", "regions"): "saddle", ("inner", "thighs"): "saddle", ("front", "bottom"): "saddle",
    ("toilet", "paper"): "toiletpaper", ("toilet", "roll"): "toiletpaper", ("bog", "roll"): "toiletpaper",
    ("short", "of", "breath"): "breathless", ("shortness", "of", "breath"): "breathless", ("out", "of", "breath"): "outofbreath",
    ("lower", "leg"): "calf", ("lower", "legs"): "calf", ("both", "of", "my", "legs"): "both legs", ("both", "my", "legs"): "both legs",
    ("both", "of", "my", "feet"): "both feet", ("both", "of", "my", "hands"): "both hands", ("both", "my", "hands"): "both hands",
    ("both", "of", "my", "arms"): "both arms", ("blood", "clot"): "clot", ("blood", "clots"): "clot",
    ("high", "temperature"): "fever", ("a", "temperature"): "fever", ("a", "temp"): "fever", ("high", "temp"): "fever",
    ("temperature", "of"): "fever", ("weight", "loss"): "lost weight",
    ("erectile", "dysfunction"): "impotent",
    ("hard", "to"): "difficulty", ("struggling", "to"): "difficulty", ("struggle", "to"): "difficulty", ("struggled", "to"): "difficulty",
    ("difficult", "to"): "difficulty", ("problems", "with"): "difficulty", ("problem", "with"): "difficulty",
    ("trouble", "with"): "difficulty", ("difficulty", "with"): "difficulty",
    ("no", "feeling"): "nofeeling", ("no", "sensation"): "nofeeling", ("lost", "feeling"): "nofeeling",
    ("lost", "sensation"): "nofeeling", ("lost", "all", "feeling"): "nofeeling", ("reduced", "sensation"): "nofeeling",
    ("reduced", "feeling"): "nofeeling", ("less", "feeling"): "nofeeling", ("altered", "sensation"): "nofeeling",
    ("loss", "of", "feeling"): "nofeeling", ("loss", "of", "sensation"): "nofeeling", ("cant", "feel", "anything"): "nofeeling",
    ("strange", "feeling"): "oddfeeling", ("weird", "feeling"): "oddfeeling", ("odd", "feeling"): "oddfeeling",
    ("funny", "feeling"): "oddfeeling", ("feels", "strange"): "oddfeeling", ("feels", "weird"): "oddfeeling",
    ("feels", "odd"): "oddfeeling", ("feels", "funny"): "oddfeeling",
    ("no", "control"): "nocontrol", ("lost", "control"): "nocontrol", ("lose", "control"): "nocontrol",
    ("losing", "control"): "nocontrol", ("loss", "of", "control"): "nocontrol", ("cant", "control"): "nocontrol",
    ("cant", "hold"): "nocontrol",
}

GAP = r"(?:[^ |]+ ){0,%d}"  # up to n words, within one clause
NUMB = r"(?:numb|tingle|pinsneedles|nofeeling|cant feel|dont feel|oddfeeling|dead|asleep|different|no sensation)"
SADDLE = r"(?:saddle|(?<!the )bottom(?! of))"
LEGS_WEAK = r"(?:numb|tingle|pinsneedles|weak\w*|dead|give way|giving way|gave way|gives way|buckl\w*|collaps\w*|jelly|wobbly|going|gone|went)"
CANT_EASILY = r"(?:cant|difficulty|trouble|struggl\w*|problems?|issues?|hesitan\w*)"
CONSTANT = (
    r"(?:constant\w*|all the time|never (?:goes|stops|eases|lets up)|doesnt (?:go away|ease|stop|let up|settle)|non stop|nonstop|"
    r"24 7|day and night|night and day|nothing (?:helps|eases|touches)|no position|any position|whatever position|whatever i do)"
)
NIGHT = r"(?:night\w*|sleep\w*|in bed|lying still|at rest|resting|rest)"


def _p(*patterns: str) -> tuple[re.Pattern[str], ...]:
    """Compile patterns that end at a word boundary; GAP(n) is written ~n.

    They do not start with one: a leading assertion stops the regex engine skipping ahead to the
    characters a match can start with (seven times slower), so the reader in free_text.py checks
    that a match starts a word itself."""
    return tuple(re.compile(r"(?:" + re.sub(r"~(\d+)", lambda m: GAP % int(m.group(1)), pattern) + r")\b") for pattern in patterns)


def _one(pattern: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + pattern + r")\b")


def _asked(code: str) -> tuple[str, str]:
    """The question (and hint) of the safety question with this code."""
    question = QUESTIONS_BY_CODE[code]
    return question.question, question.hint


def _category(code: str, level: Urgency, reason: str, patterns, question: str | None = None, hint: str = "", **more) -> Category:
    if question is None:
        question, hint = _asked(code)
    return Category(code, level, question, hint, reason, patterns, **more)


EXERCISE = r"run|running|ran|runs|marathon|race|gym|workout|training|squat\w*|exercis\w*|cycl\w*|bike|hike|hiking|football|match|game|leg day|sitting|sit|sat|crossed|cross legged|kneeling"
FAMILY = (
    r"mum|mums|mother|mothers|dad|dads|father|fathers|wife|wifes|husband|husbands|partner|partners|friend|friends|sister|sisters|"
    r"brother|brothers|gran|grans|grandma|grandmas|nan|nans|grandad|grandads|grandfather|grandmother|aunt|aunts|auntie|uncle|"
    r"uncles|son|sons|daughter|daughters|family|cousin|colleague|charity|research|race for life|fundrais\w*|relay|macmillan|neighbour"
)
E, U = Urgency.EMERGENCY, Urgency.URGENT

CATEGORIES: tuple[Category, ...] = (
    _category("saddle_numbness", E, "Their words may describe numbness or pins and needles in the saddle area", _p(
        rf"{NUMB} ~5{SADDLE}", rf"{SADDLE} ~5{NUMB}",
        r"(?:cant feel|nofeeling|numb|oddfeeling|different|dont feel) ~4(?:wip\w*|toiletpaper)",
        r"wip\w* ~4(?:numb|cant feel|nofeeling|oddfeeling|different|feel nothing|dont feel)",
    ), ordinary=_one(r"dead ?lifts?|deadlifts?|saddle sore\w*")),
    _category("bladder_change", E, "Their words may describe new bladder problems", _p(
        rf"{CANT_EASILY} ~3(?:pee|bladder|(?:start|empty) ~2(?:pee|bladder|stream|flow))",
        r"bladder ~3(?:problem\w*|issue\w*|trouble|weak|funny|strange|odd|oddfeeling|changed|different|not working|wont empty|gone|dont feel right)",
        r"cant go ~5(?:bladder|pee|even when)",
        r"(?:cant feel|nofeeling|numb|dont feel|not feel\w*|cant tell|dont realise|dont notice|cant sense|no urge) ~4(?:pee|bladder|need to go|urge)",
        r"(?:cant feel|dont feel|not feel\w*|cant tell|dont know|dont realise) when (?:i|im) ~2(?:go|going|need)(?! ~3poo)",
        r"(?:wet|pee) ~1(?:myself|bed|pants|knickers|trousers|underwear|self)",
        r"(?<!bowel )(?<!faecal )incontinen\w*(?! of (?:my )?(?:bowel|poo))", r"nocontrol ~2(?:pee|bladder)", r"(?:pee|bladder) ~2(?:control|leak\w*)", r"leak\w*",
        r"catheter\w*", r"(?<!fluid )(?<!water )retention", r"dribbl\w*",
        r"cant go(?= \||$| properly| at all)", r"havent pee",
        r"accident\w* ~3pee", r"pee ~2accident\w*", r"(?:pee|go) ~3without (?:knowing|realising|realizing|feeling|noticing)",
    ), ordinary=_one(r"wound|scar|stitches|incision|dressing|tap|roof|pipe|boiler|radiator|fluid|joint|knee")),
    _category("bowel_change", E, "Their words may describe new loss of bowel control or feeling", _p(
        r"nocontrol ~2(?:bowel|poo)", r"(?:bowel|poo) ~2(?:control|incontinen\w*|leak\w*|accident\w*)",
        r"incontinen\w* ~2(?:bowel|poo)", r"(?:soil\w*|poo|mess\w*|dirtied) ~1(?:myself|pants|knickers|trousers|underwear|self)",
        r"accident\w* ~3(?:bowel|poo)",
        r"(?:cant feel|nofeeling|numb|dont feel|not feel\w*|cant tell|dont know when) ~4(?:bowel|poo)",
        r"bowel ~3(?:problem\w*|issue\w*|trouble|funny|strange|oddfeeling|changed|different|not working|numb|gone|dont feel right|not right)",
        r"(?:poo|bowel) ~3without (?:knowing|realising|realizing|feeling|noticing)",
    ), ordinary=_one(r"ibs|crohns?|colitis|constipat\w*|painkillers|codeine|co codamol|tramadol|morphine")),
    _category("sexual_change", E, "Their words may describe new problems with sexual function or sensation", _p(
        r"impoten\w*", r"erection", r"cant ~2(?:get it up|get hard|stay hard|orgasm|climax|ejaculat\w*)",
        r"(?:numb|nofeeling|cant feel|feel nothing|dont feel anything|no pleasure|oddfeeling|different) ~4(?:sex|intercourse|orgasm|making love)",
        r"(?:sex|intercourse) ~4(?:numb|nofeeling|cant feel|feel nothing|dont feel anything|oddfeeling)",
        r"difficulty ~2(?:sex|sexual\w*|erection)", r"(?:sex life|sexual function) ~3(?:changed|gone|stopped|difficult\w*|issue\w*|problem\w*)",
    )),
    _category("leg_weakness", E, "Their words may describe worsening leg weakness, both legs affected, or new difficulty walking", _p(
        rf"both (?:legs|feet|thighs) ~4{LEGS_WEAK}", rf"{LEGS_WEAK} ~4both (?:legs|feet|thighs)",
        r"legs ~3(?:weak\w*|numb|give way|giving way|gave way|gives way|buckl\w*|collaps\w*|going|gone|went|dead|jelly|wont (?:work|hold)|not working)",
        r"(?:leg|legs|foot|knee|thigh) ~5weaker", r"weak\w* ~3(?:getting|got|gets|is getting) worse", r"weaker and weaker",
        r"cant walk(?! (?:far|for|long|more|much|very|as|up|down|without|fast|quickly|uphill|distances|any distance|the dog|to|around|round|on|in|too|over))",
        r"(?:hardly|barely) (?:walk|stand)", r"difficulty walk\w*(?! (?:far|up|down|long|for|more|distances|uphill|fast|any distance))",
        r"drag\w* ~2(?:foot|feet|leg|toes)", r"foot drop|drop foot|dropped foot", r"foot ~2slap\w*",
        r"trip\w* over ~2(?:foot|feet|toes)", r"(?:cant|difficulty) ~2(?:lift|raise) ~2(?:foot|toes)",
    ), ordinary=_one(EXERCISE)),
    _category("neck_artery", E, "Their words may describe a sudden severe headache or signs of a stroke or artery problem", _p(
        r"(?:sudden\w*|worst|thunderclap|explosive|unlike any|never had one like|worst ever|like being hit) ~4headache",
        r"headache ~4(?:came on suddenly|out of nowhere|worst|unlike any|like never before|like being hit)",
        r"double vision|seeing double|see double|slurr\w*", r"(?:cant|difficulty|trouble) ~1(?:speak\w*|talk\w*|swallow\w*|get my words out|find my words)",
        r"words ~3(?:jumbled|muddled)", r"face ~3(?:numb|droop\w*|tingle|dropp\w*|fallen|lopsided)", r"(?:numb|droop\w*|tingle) ~3face",
        r"drop attacks?|blacked out|blacking out|black outs?|blackouts?|passed out|passing out|fainted|fainting", r"(?:lost|losing|no) coordination",
    )),
    _category("neck_dizzy", E, "Their words may describe new dizziness or loss of coordination with neck pain", _p(
        r"dizz\w*|vertigo|room ~2spin\w*|lightheaded|light headed",
    ), needs=_one(r"neck"), ordinary=_one(r"stand up|standing up|get up|getting up|quickly|too fast|hungry|hangover|hungover")),
    _category("head_injury", E, "Their words may describe a head injury with the neck pain", _p(
        r"(?:hit|banged|bumped|knocked|smacked|whacked|cracked) ~2head", r"head (?:injury|injuries|knock)", r"concuss\w*", r"knocked (?:out|unconscious)",
    ), needs=_one(r"neck")),
    _category("meningitis", E, "Their words may describe a stiff neck with fever, a rash or light hurting their eyes", _p(
        r"neck ~3stiff\w*", r"stiff\w* ~1neck", r"cant (?:bend|move|put|touch) ~2(?:chin|head forward)",
    ), needs=_one(r"fever|rash|light (?:hurts|hurt|bothers)|cant (?:stand|bear|look at|cope with) (?:the )?light|sensitive to (?:the )?light|light sensitiv\w*|photophob\w*|temp\w*")),
    _category("chest", E, "Their words may describe chest pain or breathlessness", _p(
        r"chest ~2(?:pain\w*|tight\w*|hurts?|hurting|pressure|heavy|heaviness|crushing|squeez\w*|aches?|aching)",
        r"(?:pain\w*|tight\w*|pressure|crushing|heaviness|squeez\w*) ~3chest", r"breathless\w*",
        r"cant ~1(?:breathe|catch my breath|get my breath)", r"difficulty ~1breath\w*", r"trouble breath\w*",
        r"(?:arm|shoulder) and jaw|jaw and (?:left )?arm",
    ), ordinary=_one(r"muscle|pecs?|pectoral\w*|bench|press ?ups?|costochondr\w*")),
    _category("cancer_history", U, "Their words mention cancer", _p(
        r"cancer\w*|tumou?r\w*|malignan\w*|chemo\w*|radiotherapy|leuka?emia|lymphoma|myeloma|metasta\w*|secondaries|carcinoma|sarcoma|melanoma|oncolog\w*",
        r"the big c",
    ), ordinary=_one(FAMILY)),
    _category("weight_loss", U, "Their words may describe unexplained weight loss", _p(
        r"(?:lost|losing|dropped|dropping|shed) ~3(?:weight|stone|st|pounds|lbs|kilos|kg|kgs)",
        r"weight ~2(?:dropp\w*|fall\w*|fell|gone down|come off)", r"clothes ~2(?:hanging|falling) off", r"cant keep ~2weight on",
    ), ordinary=_one(
        r"(?<!without )(?<!not )(?<!stopped )try\w*|(?<!without )(?<!not )tried|want\w*|hop\w*|need\w*|would|like to|plan\w*|goal\w*|diet\w*|slimming|on purpose|purposely|deliberate\w*|"
        r"intentional\w*|gym|exercis\w*|weight watchers|ozempic|wegovy|mounjaro|jab|healthy eating|calorie\w*|since i started|help\w*|"
        r"pregnan\w*|baby|running|cycling|swimming|walking"
    )),
    _category("fever_unwell", U, "Their words may describe fever, chills or feeling generally unwell", _p(
        r"fever\w*|shiver\w*|chills|rigou?rs|night sweats|sweats|flu like|hot and cold|hot and shivery",
        r"(?:feel\w*|felt|been|am|im|being|generally) ~2(?:unwell|ill|poorly|rough|run down|under the weather|not myself|off colour)",
    ), ordinary=_one(r"covid|vaccin\w*|jab|booster|last year|years ago|cold shower|ice bath|cold water|down my spine|chills out|hangover|hungover|anxious|nervous|thinking about|worry|worried|period|flu jab")),
    _category("night_pain", U, "Their words may describe constant pain, worse at night, not eased by rest", _p(
        rf"{CONSTANT} (?:\S+ ){{0,12}}{NIGHT}", rf"{NIGHT} (?:\S+ ){{0,12}}{CONSTANT}",
        r"worse at night ~4(?:even|whatever|no matter|resting|lying still|at rest)",
    )),
    _category("weak_immunity", U, "Their words may describe a weakened immune system", _p(
        r"immun\w* ~2(?:weak\w*|low|suppress\w*|compromis\w*|poor|lowered)", r"(?:weak\w*|low|lowered|poor) immun\w*",
        r"immunosuppress\w*|immunocompromis\w*|organ transplant|kidney transplant|liver transplant|hiv|methotrexate|biologics?|azathioprine|ciclosporin|tacrolimus",
    )),
    _category("injected_drugs", U, "Their words may describe injecting drugs", _p(
        r"inject\w* ~2(?:drugs|heroin|smack|gear|speed|crack|cocaine)", r"heroin|iv drugs?|intravenous drugs?|shoot\w* up|needle exchange|track marks",
    )),
    _category("major_trauma", U, "Their words may describe a serious fall or accident", _p(
        r"(?:car|road|traffic|motorbike|motorcycle|bike|cycling|head on) (?:crash|accident|collision|smash)", r"hit by a (?:car|van|bus|lorry|bike|truck)",
        r"fell ~3(?:ladder|roof|height|scaffold\w*|balcony|horse|down the stairs|down a flight|down stairs|off a wall)",
        r"fall ~2from ~2(?:ladder|roof|height|horse|balcony)", r"rear ended|written off",
    )),
    _category("calf_clot", U, "Their words may describe a swollen, hot or red calf (possible clot)", _p(
        r"calf ~4(?:swollen|swell\w*|hot|warm|red|puffy|bigger)", r"(?:swollen|swell\w*|hot|warm|red|puffy) ~3calf", r"dvt|clot|thrombo\w*",
    ), ordinary=_one(r"hot water|heat pack|hot bath|hot pack|wheat bag|ice|massage")),
    _category("hot_joint", U, "Their words may describe a hot, swollen joint", _p(
        r"(?:hot|warm) ~3(?:and )?(?:swollen|swell\w*)", r"(?:swollen|swell\w*) ~3(?:hot|warm)",
    ), needs=_one(r"knees?|ankles?|elbows?|wrists?|hips?|shoulders?|joints?|toes?|fingers?|knuckles?"),
        ordinary=_one(r"hot water|heat|hot bath|hot pack|wheat bag|weather|summer|sun")),
    _category("cord_signs", U, "Their words may describe clumsy hands, unsteady walking, or both arms or hands numb", _p(
        r"clums\w*", r"drop\w* (?:things|stuff|cups|my cup|objects|my phone)", r"(?:cant|difficulty|trouble|struggl\w*|fiddly) ~3buttons",
        r"(?:cant|difficulty|trouble|struggl\w*) ~2(?:writ\w*|hold a pen|hold my pen)",
        r"both (?:hands|arms) ~4(?:numb|tingle|pinsneedles|weak\w*|dead)", r"(?:numb|tingle|pinsneedles|weak\w*|dead) ~4both (?:hands|arms)",
        r"(?:hands|arms) ~3(?:numb|tingle|pinsneedles|dead|weak)", r"(?:numb|tingle|pinsneedles) ~3(?:hands|arms)",
        r"(?:unsteady|off balance|wobbly) ~3(?:feet|walking|legs)", r"walk\w* ~3drunk",
    ), ordinary=_one(r"cycl\w*|bike|riding|typing|phone|carpal|sleep\w*|asleep|night|gym|push ?ups|press ?ups|weights")),
    _category("wound", U, "Their words may describe a problem with a surgical wound", _p(
        r"(?:wound|scar|stitches|incision|staples|op site|operation site|dressing) ~4(?:ooz\w*|weep\w*|pus|infect\w*|open\w*|split\w*|gaping|smell\w*|hot|red|discharg\w*|leak\w*)",
        r"infect\w* ~3(?:wound|scar|stitches|incision)",
    )),
    _category("injury_severe", U, "Their words may describe not taking weight on the leg, or a joint out of shape, after an injury", _p(
        r"cant ~2(?:put|take|bear|stand) ~3weight", r"cant (?:stand|put my foot down) on it", r"bones? ~3(?:sticking|poking) out",
        r"(?:looks|look|is|went|gone|looked) ~2(?:deformed|out of place|the wrong shape|wonky|at a funny angle|misshapen)",
    ), ordinary=_one(r"years ago|last year|used to|when i was")),
)
