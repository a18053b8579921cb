"""A reproducible, multilingual stream of posts about a brand, shared by the X and Reddit emulators.

Post ``n`` of a seed is always the same text, language, kind and author, so a demo restarted with
the same seed shows the same conversation and a test can say what it expects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Kind = Literal["complaint", "question", "praise", "noise", "unrelated"]

# {brand} is the brand's name or its @handle / u/handle; the other fields vary per post.
_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "complaint": (
            "{brand} my order #{order} hasn't arrived after {days} days, this is unacceptable",
            "Third time the {brand} app crashed during checkout. Please fix it",
            "Charged twice by {brand} and support keeps closing my ticket without an answer",
        ),
        "question": (
            "Does {brand} ship to {city}? Asking before I buy",
            "How do I cancel my {brand} subscription? Can't find it in settings",
            "Is {brand} down for anyone else right now?",
        ),
        "praise": (
            "Honestly {brand} support was amazing today, thank you!",
            "Switched to {brand} last month and loving it so far",
        ),
        "noise": (
            "Reading about {brand} and three other companies in this week's newsletter",
            "{brand} GIVEAWAY!!! follow + click the link in bio to win 🎁🎁",
        ),
        "unrelated": ("Coffee first, then emails ☕", "Traffic in {city} is unreal today"),
    },
    "es": {
        "complaint": (
            "El pedido de {brand} llegó roto y nadie responde. Llevo {days} días esperando",
            "{brand} me cobró dos veces, ¿en serio? Pésimo servicio",
        ),
        "question": ("¿Alguien sabe si {brand} tiene tienda en {city}?",),
        "praise": ("Increíble la atención de {brand}, resolvieron todo en minutos",),
        "noise": ("Hoy salió una nota sobre {brand} en el periódico",),
        "unrelated": ("¡Qué calor hace hoy en {city}!",),
    },
    "fr": {
        "complaint": ("Toujours pas de remboursement de {brand} après {days} jours, c'est inadmissible",),
        "question": ("Est-ce que {brand} livre en Belgique ?",),
        "praise": ("Super expérience avec {brand}, livraison rapide 👍",),
        "noise": ("Vu une pub {brand} dans le métro ce matin",),
        "unrelated": ("Enfin le week-end !",),
    },
    "pt": {
        "complaint": ("{brand} cobrou duas vezes no meu cartão, alguém me ajuda?",),
        "question": ("Alguém sabe se o app da {brand} funciona em iPhone antigo?",),
        "praise": ("Atendimento da {brand} foi nota 10 hoje!",),
        "noise": ("Saiu uma matéria sobre a {brand} no jornal",),
        "unrelated": ("Hoje tem jogo, bora!",),
    },
    "de": {
        "complaint": ("Seit {days} Tagen keine Antwort vom {brand} Support. Echt enttäuschend.",),
        "question": ("Weiß jemand, ob {brand} auch nach Österreich liefert?",),
        "praise": ("Danke {brand}, das Problem wurde sofort gelöst!",),
        "noise": ("Heute einen Artikel über {brand} gelesen",),
    },
    "ar": {
        "complaint": ("خدمة {brand} سيئة جدا، طلبي لم يصل منذ {days} أيام",),
        "question": ("هل يوجد فرع لـ {brand} في دبي؟",),
        "praise": ("شكرا {brand} على الخدمة الرائعة والتوصيل السريع",),
        "noise": ("قرأت اليوم خبرا عن {brand}",),
        "unrelated": ("صباح الخير يا جماعة",),
    },
    "hi": {
        "complaint": ("{brand} ने मेरा रिफंड {days} दिन से रोक रखा है, बहुत बुरा अनुभव",),
        "question": ("क्या {brand} की डिलीवरी जयपुर में होती है?",),
        "praise": ("{brand} का नया ऐप बहुत अच्छा है, धन्यवाद!",),
        "noise": ("{brand} के बारे में आज एक लेख पढ़ा",),
    },
    "ta": {
        "complaint": ("{brand} வாடிக்கையாளர் சேவை மிகவும் மோசம், {days} நாட்களாக பதில் இல்லை",),
        "question": ("{brand} ஆப்பில் பணத்தைத் திரும்பப் பெறுவது எப்படி?",),
        "praise": ("{brand} டெலிவரி மிக வேகமாக இருந்தது, நன்றி!",),
        "noise": ("இன்று {brand} பற்றிய செய்தி பார்த்தேன்",),
    },
    "km": {
        "complaint": ("សេវាកម្មរបស់ {brand} អាក្រក់ណាស់ ខ្ញុំរង់ចាំ {days} ថ្ងៃហើយ",),
        "question": ("តើ {brand} មានហាងនៅភ្នំពេញទេ?",),
        "praise": ("ខ្ញុំចូលចិត្តកម្មវិធីថ្មីរបស់ {brand} ណាស់",),
        "noise": ("{brand} ចេញផលិតផលថ្មីនៅថ្ងៃនេះ",),
    },
    "id": {
        "complaint": ("Pesanan saya dari {brand} belum sampai sudah {days} hari",),
        "question": ("Ada yang tahu cara refund di aplikasi {brand}?",),
        "praise": ("Pelayanan {brand} cepat banget, mantap!",),
        "noise": ("Lihat iklan {brand} di TV tadi malam",),
    },
}
_LANG_WEIGHTS = {"en": 30, "es": 12, "fr": 8, "pt": 8, "de": 6, "ar": 9, "hi": 9, "ta": 6, "km": 5, "id": 7}
LANGUAGES = tuple(_LANG_WEIGHTS)  # what the emulated customers write in
_KIND_WEIGHTS: dict[Kind, int] = {"complaint": 30, "question": 25, "praise": 20, "noise": 10, "unrelated": 15}
_NAMES = {
    "en": ("Sarah Miller", "Mike Chen", "Priya Nair", "Tom Brooks", "Ava Johnson"),
    "es": ("Lucía Gómez", "Carlos Ruiz", "Marta Pérez"),
    "fr": ("Camille Martin", "Hugo Bernard"),
    "pt": ("Ana Souza", "João Lima"),
    "de": ("Lena Fischer", "Jonas Weber"),
    "ar": ("Omar Haddad", "Layla Nasser"),
    "hi": ("Rahul Sharma", "Ananya Gupta"),
    "ta": ("Karthik Raman", "Meena Subramanian"),
    "km": ("Sokha Chea", "Dara Kim"),
    "id": ("Putri Lestari", "Budi Santoso"),
}
_CITIES = ("Toronto", "Madrid", "Lagos", "Mumbai", "São Paulo", "Lyon", "Dubai", "Chennai", "Phnom Penh", "Jakarta")
_FOLLOWERS = (3, 12, 48, 150, 420, 1_300, 5_200, 18_000, 96_000)


@dataclass(frozen=True)
class Author:
    username: str
    display_name: str
    followers: int


@dataclass(frozen=True)
class GeneratedPost:
    number: int
    kind: Kind
    lang: str
    # Text with a ``{brand}`` slot; each emulator fills it with the brand's name or handle.
    template: str
    author: Author
    # The author addressed the brand's account directly (@handle, u/handle).
    mentions_brand: bool

    def render(self, brand_name: str, mention: str) -> str:
        return self.template.format(brand=mention if self.mentions_brand else brand_name)


def _weighted(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class MentionStream:
    """Post ``n`` of ``seed``: the same every time, so streams are reproducible."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def post(self, number: int) -> GeneratedPost:
        rng = random.Random(f"{self.seed}:{number}")
        lang = _weighted(rng, _LANG_WEIGHTS)
        kinds = {k: w for k, w in _KIND_WEIGHTS.items() if k in _TEMPLATES[lang]}
        kind: Kind = _weighted(rng, kinds)  # type: ignore[assignment]
        template = rng.choice(_TEMPLATES[lang][kind]).format(
            brand="{brand}", order=rng.randrange(10_000, 99_999), days=rng.randrange(2, 21), city=rng.choice(_CITIES)
        )
        return GeneratedPost(
            number=number,
            kind=kind,
            lang=lang,
            template=template,
            author=self.author(rng.randrange(400), lang),
            mentions_brand=kind != "unrelated" and rng.random() < 0.35,
        )

    def author(self, number: int, lang: str) -> Author:
        rng = random.Random(f"{self.seed}:author:{lang}:{number}")
        display_name = rng.choice(_NAMES[lang])
        username = display_name.split()[0].lower().translate(str.maketrans("íéóúãç", "ieouac")) + str(number)
        return Author(username=username, display_name=display_name, followers=rng.choice(_FOLLOWERS))
